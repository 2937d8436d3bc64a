# test_esp32_device.py - the ESP32 device scenario (tests/esp32/scenario.py) under the real
# unix MicroPython binary with fake machine/network/ntptime modules, reporting to the local
# receiver run here. One micropython process per boot; the board state (RTC, RTC memory,
# LittleFS image) is carried between them by tests/esp32/board.py.
#
# Heap: COUNTLY_ESP32_HEAP (default 144k, see HEAP below; 64k is the goal that
# tools/mem_report.py checks and reports).

import json
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tests", "esp32"))

import harness  # noqa: E402

# 160k, not 128k: this binary is 64-bit (objects about twice an ESP32's) and the harness
# (fake board, LittleFS image driver) shares the heap. The run passes at 152k (measured
# 2026-11-29: the ESP32 port's init holds about 97K here); 160k leaves room for the length
# of the checkout's path. Over the 128k rule: reported by the closing note, not hidden.
# tools/mem_report.py measures the SDK's own share.
HEAP = os.getenv("COUNTLY_ESP32_HEAP", "160k")
DEVICE = "esp32-246f28a1b2c3"   # from the fake machine.unique_id()
UNSYNCED = "esp32-246f28000001"


@pytest.fixture(scope="module")
def mpy(tmp_path_factory):
    # a private build: other runs may be rebuilding build/mpy at the same time
    return harness.build(str(tmp_path_factory.mktemp("mpy")))


@pytest.fixture(scope="module")
def recv():
    from countly_receiver import Receiver

    r = Receiver(apps={"APPKEY": None}, db_path=":memory:")
    r.start(host="127.0.0.1", port=0)
    yield r
    r.stop()


def boot(phase, state, mpy, recv, heap=HEAP):
    code, lines = harness.boot(phase, state, mpy, recv.url, heap)
    assert code == 0 and ("END %s" % phase) in " ".join(lines), "\n".join(lines)
    return lines


def tagged(lines, tag):
    return [ln.split()[1:] for ln in lines if ln.startswith(tag + " ") or ln == tag]


def test_offline_boot_ntp_drop_and_deep_sleep(tmp_path, mpy, recv):
    first = boot("first", tmp_path, mpy, recv)
    assert ["first", "sleep"] in tagged(first, "END")
    wake = boot("wake", tmp_path, mpy, recv)
    truth = {k: int(t) for k, t in tagged(first + wake, "EV")}
    assert len(truth) == 11   # e0..e8, before_sleep, after_wake

    # every event exactly once, timed within 1 s of when it happened. ntptime sets whole
    # seconds, so the board runs up to 1 s behind; never ahead (1-2 ms of integer rounding).
    events = recv.rows("events", device_id=DEVICE)
    keys = sorted(e["key"] for e in events)
    assert keys == sorted(truth), keys
    for e in events:
        d = e["timestamp"] - truth[e["key"]]
        assert -1002 <= d <= 2, (e["key"], d)

    # the crash recorded offline arrives with its true time
    assert tagged(first, "NOCRASHES") == [], "crashes.guard() not available in the core yet"
    crash_t = int(tagged(first, "CRASH")[0][0])
    crashes = recv.rows("crashes", device_id=DEVICE)
    assert len(crashes) == 1 and crashes[0]["nonfatal"] == 0
    assert "ValueError" in (crashes[0]["name"] or "") + (crashes[0]["error"] or "")
    assert -1002 <= crashes[0]["timestamp"] - crash_t <= 2

    # the link died after one request reached the server and before its answer: the device
    # sent it again byte-identical (the receiver's dedup kept one copy: no duplicate above)
    reqs = recv.rows("requests", device_id=DEVICE)
    sent = [json.dumps(r["params"], sort_keys=True) for r in reqs]
    assert sorted(sent.count(x) for x in set(sent))[-1] == 2
    assert sum(1 for x in set(sent) if sent.count(x) > 1) == 1

    # deep sleep continued the session: one begin, one end, one session
    begins = [r for r in reqs if r["params"].get("begin_session") and not r["fault"]]
    assert len(begins) == 1
    assert "timestamp" in begins[0]["params"]   # re-timed: it was recorded before NTP
    ends = [r for r in reqs if r["params"].get("end_session") and not r["fault"]]
    assert len(ends) == 1
    sessions = recv.rows("sessions", device_id=DEVICE)
    assert len(sessions) == 1, sessions
    assert sessions[0]["duration_s"] >= 1   # includes the time asleep
    dev = recv.rows("devices", device_id=DEVICE)[0]
    assert dev["metrics"]["_os"] == "MicroPython"
    assert dev["sdk_name"] == "micropython-native-esp32"


def test_boot_that_never_synced_sends_without_timestamp(tmp_path, mpy, recv):
    boot("nosync1", tmp_path, mpy, recv)
    boot("nosync2", tmp_path, mpy, recv)
    reqs = [r for r in recv.rows("requests", device_id=UNSYNCED) if not r["fault"]]
    old = [r for r in reqs if "unsynced" in str(r["params"].get("events", ""))]
    assert len(old) == 1
    assert "timestamp" not in old[0]["params"]
    assert "timestamp" not in str(old[0]["params"]["events"])
    begins = [r for r in reqs if r["params"].get("begin_session")]
    assert len(begins) == 2   # a power-on is not a wake: a new session
    assert "timestamp" not in begins[0]["params"]
    assert "timestamp" in begins[1]["params"]
