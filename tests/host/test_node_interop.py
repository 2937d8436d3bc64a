# test_node_interop.py - the local receiver against the official Countly Node SDK.
#
# Why this test exists: every other test checks countly_mp against
# tools/countly_receiver.py, so the receiver must itself be a faithful Countly
# server. Here the vendor's own client (countly-sdk-nodejs, pinned version)
# runs tests/host/node_scenario.js against the in-process receiver with a
# checksum salt, once with GET and once with form POST, and the test checks
# that every request was accepted with a verified checksum and that the stored
# sessions, events, crash, user properties, views and device-id merge are what
# the scenario did.
#
# Needs `node` and `npm` on PATH; the SDK is installed from the npm registry
# once and cached under <repo>/.cache/node-sdk/ (gitignored). Without node/npm,
# or when the install fails (no registry access), the test is skipped with the
# reason.

import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

SDK_NAME = "countly-sdk-nodejs"
SDK_VERSION = "24.10.4"
SCENARIO = Path(__file__).with_name("node_scenario.js")
CACHE_DIR = REPO / ".cache" / "node-sdk" / ("%s@%s" % (SDK_NAME, SDK_VERSION))

APP_KEY = "APPKEY"
SALT = "s3cr3t"
SUCCESS = '{"result":"Success"}'

INSTALL_TIMEOUT = 240  # seconds; a cold install normally takes ~1 s (no dependencies)
SCENARIO_TIMEOUT_MS = 60000  # hard limit inside the node script
PROCESS_TIMEOUT = 90  # outer limit for the node process, above the script's own


def _installed_version(prefix):
    pkg = prefix / "node_modules" / SDK_NAME / "package.json"
    try:
        return json.loads(pkg.read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError):
        return None


def _npm_error(proc):
    # The informative part of npm's error output: "code X", the error message line; no stack.
    lines = []
    for line in (proc.stderr or proc.stdout or "").splitlines():
        text = line[len("npm error"):].strip() if line.startswith("npm error") else ""
        # Skip stack frames and the dumped error object ("code: 'ECONNREFUSED',").
        if text and not text.startswith(("at ", "{", "}")) and not re.match(r"\w+: ['\d]", text):
            lines.append(text)
    return " | ".join(lines[:4]) or "no error output"


@pytest.fixture(scope="module")
def node_modules():
    """Path of a node_modules folder holding the pinned SDK (installed once, then cached)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm not installed")
    if _installed_version(CACHE_DIR) == SDK_VERSION:
        return CACHE_DIR / "node_modules"
    # Install into a scratch folder next to the cache and rename it into place,
    # so an interrupted or concurrent install never leaves a half-filled cache.
    CACHE_DIR.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".install-", dir=str(CACHE_DIR.parent)))
    try:
        try:
            # Short fetch retries: npm's defaults (10-60 s back-off, 5 min fetch timeout)
            # turn "no registry" into minutes before the skip.
            proc = subprocess.run(
                ["npm", "install", "--no-audit", "--no-fund", "--no-save",
                 "--fetch-retries=2", "--fetch-retry-mintimeout=1000",
                 "--fetch-retry-maxtimeout=5000", "--fetch-timeout=60000",
                 "--prefix", str(scratch), "%s@%s" % (SDK_NAME, SDK_VERSION)],
                capture_output=True, text=True, timeout=INSTALL_TIMEOUT,
                cwd=str(scratch),
            )
        except subprocess.TimeoutExpired:
            pytest.skip("npm install %s@%s timed out after %d s (no registry access?)"
                        % (SDK_NAME, SDK_VERSION, INSTALL_TIMEOUT))
        if proc.returncode != 0 or _installed_version(scratch) != SDK_VERSION:
            pytest.skip("npm install %s@%s failed (rc=%s): %s"
                        % (SDK_NAME, SDK_VERSION, proc.returncode, _npm_error(proc)))
        try:
            os.replace(str(scratch), str(CACHE_DIR))
        except OSError:
            # Another run won the race; its cache is as good as ours.
            if _installed_version(CACHE_DIR) != SDK_VERSION:
                raise
    finally:
        shutil.rmtree(str(scratch), ignore_errors=True)
    return CACHE_DIR / "node_modules"


@pytest.fixture
def receiver():
    from countly_receiver import Receiver

    r = Receiver(apps={APP_KEY: SALT}, db_path=":memory:", fixtures=None)
    r.start(host="127.0.0.1", port=0)
    try:
        yield r
    finally:
        r.stop()


def run_scenario(node_modules, receiver, tmp_path, method, device_id):
    storage = tmp_path / "sdk-storage"
    storage.mkdir()
    env = dict(os.environ)
    env.update({
        "NODE_PATH": str(node_modules),
        "CLY_URL": receiver.url,
        "CLY_APP_KEY": APP_KEY,
        "CLY_SALT": SALT,
        "CLY_STORAGE": str(storage),
        "CLY_FORCE_POST": "1" if method == "POST" else "0",
        "CLY_DEVICE_ID": device_id,
        "CLY_TIMEOUT_MS": str(SCENARIO_TIMEOUT_MS),
        # Fixed zone: the SDK stamps local hour/dow and tz; UTC makes them checkable (tz == 0).
        "TZ": "UTC",
    })
    proc = subprocess.run(
        ["node", str(SCENARIO)], capture_output=True, text=True, env=env,
        cwd=str(tmp_path), timeout=PROCESS_TIMEOUT,
    )
    summary = None
    for line in proc.stdout.splitlines():
        if line.startswith("SUMMARY "):
            summary = json.loads(line[len("SUMMARY "):])
    assert proc.returncode == 0 and summary and summary["ok"], (
        "node scenario failed rc=%s\nstdout:\n%s\nstderr:\n%s"
        % (proc.returncode, proc.stdout[-4000:], proc.stderr[-4000:]))
    return summary


# What node_scenario.js puts into the purchase event's segmentation (kept in sync by hand):
# non-ASCII keys and values of 2-, 3- and 4-byte UTF-8 and URL delimiters.
TRICKY_SEG = {
    "item": "coffee",
    "size": "L",
    "ünï": "çödé & = ?",
    "温度": "21.5°C 🌡",
    "expr": "a+b=c&d?e#f%20",
}
# The user profile after user_details + the three userData.save() batches and the merge.
EXPECTED_PROFILE = {
    "name": "Zoë Lovelace",
    "username": "ada",
    "email": "ada@example.com",
    "organization": "Analytical & Co",
    "phone": "+100",
    "gender": "F",
    "byear": 1990,
    "custom": {
        "plan": "pro",  # from user_details; "fw" was removed by userData.unset
        "level": 30,  # set 10, multiply 3
        "hi": 9,  # set 5, max 9
        "lo": 2,  # set 5, min 2
        "color": "blue",
        "boots": 3,  # increment x2 before the merge, x1 after it (under the new id)
        "score": 5,  # increment_by 5
        "first_seen": "2024-01-01",  # the second set_once is ignored
        "tags": ["iot", "edge"],  # push_unique iot, iot, edge
        "history": ["a", "c"],  # push a, b, c; pull b
    },
}


def _wire_payload(req):
    # What the SDK signed: the query for GET, the form body for POST.
    return req["query"] if req["method"] == "GET" else req["body"]


def _own_checksum_ok(payload):
    # Independent re-check of the SDK's signature (sha256(payload + salt), checksum last),
    # so a receiver that skipped verification could not make this test pass.
    head, sep, value = payload.rpartition("&checksum256=")
    return bool(sep) and hashlib.sha256((head + SALT).encode("utf-8")).hexdigest() == value


def _expected_hour_dow(ts_ms):
    # The SDK stamps events with local hour and JS getDay() (Sunday = 0); TZ=UTC here.
    t = datetime.datetime.fromtimestamp(ts_ms / 1000.0, datetime.timezone.utc)
    return t.hour, (t.weekday() + 1) % 7


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_node_sdk_against_receiver(node_modules, receiver, tmp_path, method):
    dev1 = "node-%s-1" % method.lower()
    merged = dev1 + "-merged"
    t0 = int(time.time() * 1000)
    summary = run_scenario(node_modules, receiver, tmp_path, method, dev1)
    t1 = int(time.time() * 1000)
    assert summary["final_device_id"] == merged

    # -- transport: every request accepted, checksum verified ------------------------------
    reqs = receiver.rows("requests")
    # Every request the SDK made reached the receiver, and the SDK saw the same answers.
    assert len(reqs) == len(summary["exchanges"]) >= 9
    for ex in summary["exchanges"]:
        assert (ex["status"], ex["body"], ex["error"]) == (200, SUCCESS, None), ex
    for req in reqs:
        where = "request #%d %s" % (req["id"], _wire_payload(req)[:200])
        # The SDK sends a request as POST when its GET form would be >= 2000 characters;
        # the scenario stays below that, so a GET run is GET throughout.
        assert req["method"] == method and req["path"] == "/i", where
        # The app has a salt, so anything but exactly Success means the receiver
        # refused it (mismatched/missing checksum answers are HTTP 200 too).
        assert (req["status"], req["answer"]) == (200, SUCCESS), where
        assert _own_checksum_ok(_wire_payload(req)), where
        if method == "POST":
            assert req["query"] == "", where
            assert req["content_type"].startswith("application/x-www-form-urlencoded"), where
        assert req["app_key"] == APP_KEY and req["device_id"] in (dev1, merged), where
        assert req["params"]["sdk_name"] == "javascript_native_nodejs", where
        assert req["params"]["sdk_version"] == SDK_VERSION, where
    assert not [r for r in reqs if "checksum" in (r["answer"] or "").lower()]

    # -- device / merge --------------------------------------------------------------------
    # The old_device_id request renamed the first device, so only the merged id remains.
    devices = receiver.rows("devices")
    assert [d["device_id"] for d in devices] == [merged]
    dev = devices[0]
    assert dev["sdk_name"] == "javascript_native_nodejs" and dev["sdk_version"] == SDK_VERSION
    assert dev["tz"] == 0
    assert dev["metrics"]["_app_version"] == "1.2.3"
    assert dev["metrics"]["_os"] == platform.system()
    assert dev["session_count"] == 1
    assert dev["profile"] == EXPECTED_PROFILE
    merges = receiver.rows("merges")
    assert len(merges) == 1
    m = merges[0]
    assert (m["old_device_id"], m["new_device_id"], m["old_found"]) == (dev1, merged, 1)
    assert m["moved"]["sessions"] == 1 and m["moved"]["crashes"] == 1
    assert m["moved"]["events"] >= 4  # button_click, purchase, sensor_read, settings view
    merge_req = [r for r in reqs if "old_device_id" in r["params"]]
    assert len(merge_req) == 1 and merge_req[0]["id"] == m["request_id"]
    assert merge_req[0]["device_id"] == merged and merge_req[0]["params"]["old_device_id"] == dev1

    # -- session ---------------------------------------------------------------------------
    sessions = receiver.rows("sessions")
    assert len(sessions) == 1
    s = sessions[0]
    assert s["device_id"] == merged  # begun under dev1, moved by the merge, ended under merged
    assert (s["open"], s["end_reason"], s["extended"]) == (0, "end_session", 0)
    assert t0 <= s["begin_ms"] <= s["end_ms"] <= t1
    # The scenario pauses 1.1 s between begin and end; the SDK measures durations in
    # whole seconds (floor of the clock), so 1 <= duration <= run time rounded up.
    max_s = (t1 - t0) // 1000 + 1
    assert 1 <= s["duration_s"] <= max_s
    assert dev["total_duration_s"] == s["duration_s"]
    begin_req = [r for r in reqs if "begin_session" in r["params"]]
    assert len(begin_req) == 1 and begin_req[0]["device_id"] == dev1

    # -- events ----------------------------------------------------------------------------
    events = receiver.rows("events")
    assert all(e["device_id"] == merged and e["app_key"] == APP_KEY for e in events)
    sent_by = {r["id"]: r["device_id"] for r in reqs}
    for e in events:
        assert t0 <= e["timestamp"] <= t1, e
        assert (e["hour"], e["dow"]) == _expected_hour_dow(e["timestamp"]), e
    by_key = {}
    for e in events:
        by_key.setdefault(e["key"], []).append(e)
    assert sorted(by_key) == sorted(["button_click", "purchase", "sensor_read", "download",
                                     "[CLY]_view", "before_merge", "after_merge"])

    def one(key):
        assert len(by_key[key]) == 1, by_key[key]
        return by_key[key][0]

    e = one("button_click")
    assert (e["count"], e["sum"], e["dur"], e["segmentation"]) == (1, None, None, {})
    e = one("purchase")
    assert (e["count"], e["sum"], e["dur"]) == (2, 9.99, 3.5)
    assert e["segmentation"] == TRICKY_SEG
    e = one("sensor_read")
    assert (e["count"], e["sum"], e["segmentation"]) == (5, 1.5, {"unit": "°C"})
    for key in ("button_click", "purchase", "sensor_read"):
        assert sent_by[one(key)["request_id"]] == dev1  # sent before change_id, then moved
    e = one("download")  # timed event: start_event ... 1.1 s ... end_event
    assert e["count"] == 1 and e["segmentation"] == {"file": "fw.bin"}
    assert 1 <= e["dur"] <= max_s
    # change_id(merge=true) keeps the event queue: before_merge goes out under the new id.
    e = one("before_merge")
    assert sent_by[e["request_id"]] == merged and e["segmentation"] == {}
    e = one("after_merge")
    assert sent_by[e["request_id"]] == merged and e["segmentation"] == {"k": "v"}

    # Views: track_view("settings") ... 1.1 s ... track_view("home"), end_session.
    # Each view start carries visit=1; its duration comes as a separate event without visit.
    views = [(v["segmentation"]["name"], v["segmentation"].get("visit"), v["dur"], v)
             for v in by_key["[CLY]_view"]]
    assert [(n, visit) for n, visit, _, _ in views] == [
        ("settings", 1), ("settings", None), ("home", 1), ("home", None)]
    os_name = platform.system()
    assert views[0][3]["segmentation"] == {"name": "settings", "visit": 1, "segment": os_name,
                                           "source": "menu"}
    assert views[1][3]["segmentation"] == {"name": "settings", "segment": os_name}
    assert 1 <= views[1][2] <= max_s
    assert views[2][3]["segmentation"] == {"name": "home", "visit": 1, "segment": os_name}
    assert views[3][3]["segmentation"] == {"name": "home", "segment": os_name}
    assert views[3][2] is not None and views[3][2] >= 0

    # -- crash -----------------------------------------------------------------------------
    crashes = receiver.rows("crashes")
    assert len(crashes) == 1
    c = crashes[0]
    assert c["device_id"] == merged and sent_by[c["request_id"]] == dev1
    assert c["nonfatal"] == 1 and c["crash"]["_nonfatal"] is True
    assert c["error"].startswith("Error: sensor timeout ünï\n")
    assert "node_scenario.js" in c["error"]  # the stack trace came along
    assert c["name"] == "Error: sensor timeout ünï"
    assert c["logs"] == "breadcrumb: sensor init\nbreadcrumb: i2c retry ünï"
    assert c["custom"] == {"module": "i2c"}
    assert (c["app_version"], c["os"]) == ("1.2.3", os_name)

    # Nothing the scenario did not do.
    for table in ("consent", "location", "apm", "attribution", "ab"):
        assert receiver.rows(table) == [], table

    # -- negative control: the same receiver really refuses a tampered signature ----------
    good = _wire_payload(reqs[-1])
    tampered = good.replace("device_id=", "device_id=x", 1)
    with urllib.request.urlopen(receiver.url + "/i?" + tampered, timeout=10) as resp:
        assert (resp.status, resp.read().decode()) == (
            200, '{"result":"Request does not match checksum"}')
