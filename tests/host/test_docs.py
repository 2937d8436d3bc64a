# test_docs.py - every code block of README.md and docs/*.md runs as written (docs/features.md
# is run by its own tests and skipped here), and examples/asyncio_sensor.py delivers its data
# exactly once on both interpreters.
#
# Fenced blocks by language:
#   python   run on CPython (PYTHONPATH=lib:ports/common:ports/unix, and tools for the
#            receiver's in-process example) and on the unix micropython binary
#            (MICROPYPATH=.frozen:lib:ports/common:ports/unix), from the repository root
#   sh       run by bash -e from the repository root, one script per block
#   text, or no language: output and layouts, not code: not run
# An HTML comment on the line before a fence changes that:
#   <!-- doc-test: cpython-only REASON --> not run on MicroPython
#   <!-- doc-test: fake-board -->          board python: run on the micropython binary with the
#                                          fake ESP32 modules (tests/esp32/fakes) and the ESP32
#                                          port, from a scratch folder holding a test ca.pem
#   <!-- doc-test: server -->              sh that starts a server: it must print that it
#                                          listens and serve its page, then it is stopped
#   <!-- doc-test: board REASON -->        sh for a serial device: tools/deploy.py lines run
#                                          with --dry-run added, other lines are not run (the
#                                          REASON names the test that covers them)
#   <!-- doc-test: skip REASON -->         not run (REASON says why and what covers it)
# Substitutions, the only ones: the server URL https://countly.example.com becomes the test
# receiver's (which accepts APP_KEY and DEMO_APP_KEY); the environment has COUNTLY_URL set to
# it, COUNTLY_STORAGE and HOME set to scratch folders; port 8080 (the receiver) and 8000 (the
# HTTP server of an install) become free ports (RECEIVER_PORT for `make receiver`); on the
# fake board, the port's storage root (/countly on a board) is a scratch folder. Files a
# block creates in the repository root that were not there before are removed after it.

import glob
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
MP = os.path.join(BIN, "micropython")
FILES = ["README.md"] + sorted(os.path.relpath(p, ROOT) for p in glob.glob(
    os.path.join(ROOT, "docs", "*.md")) if not p.endswith("features.md"))
EXAMPLE_URL = "https://countly.example.com"
_MARK = re.compile(r"^<!-- doc-test: ([a-z-]+)\s*(.*?)\s*-->$")
_FENCE = re.compile(r"^```([A-Za-z0-9_-]*)\s*$")


def blocks(rel):
    # -> [(line, lang, text, kind, reason)] of one file
    out = []
    mark = None
    lines = open(os.path.join(ROOT, rel), encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = _MARK.match(lines[i].strip())
        f = _FENCE.match(lines[i])
        if m:
            mark = (m.group(1), m.group(2))
        elif f:
            start = i + 1
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                i += 1
            kind, reason = mark or (None, "")
            out.append((start, f.group(1) or "text", "\n".join(lines[start:i]) + "\n", kind,
                        reason))
            mark = None
        elif lines[i].strip():
            mark = None  # a marker belongs to the fence right after it
        i += 1
    return out


def all_blocks():
    for rel in FILES:
        for b in blocks(rel):
            yield (rel,) + b


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from countly_receiver import Receiver

    base = tmp_path_factory.mktemp("docs")
    r = Receiver(apps={"APP_KEY": None, "DEMO_APP_KEY": None}, db_path=":memory:")
    r.start(host="127.0.0.1", port=0)
    e = dict(os.environ, COUNTLY_URL=r.url, COUNTLY_STORAGE=str(base / "storage"),
             HOME=str(base / "home"))
    for k in ("PYTHONPATH", "MICROPYPATH", "COUNTLY_LOG"):
        e.pop(k, None)
    os.makedirs(e["HOME"])
    yield {"env": e, "receiver": r, "base": base}
    r.stop()


def _keep_root_clean(fn):
    before = set(os.listdir(ROOT))
    try:
        return fn()
    finally:
        for name in set(os.listdir(ROOT)) - before:
            p = os.path.join(ROOT, name)
            if os.path.isfile(p):
                os.remove(p)


def _run(cmd, env, cwd=ROOT, timeout=120):
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=timeout)
    return out.returncode, out.stdout + out.stderr


def _python_cases():
    for rel in FILES:
        bl = blocks(rel)
        for i, (line, lang, _text, kind, _reason) in enumerate(bl):
            if lang == "python" and kind != "skip":
                yield pytest.param(rel, i, kind, id="%s:%d" % (rel, line))


@pytest.mark.parametrize("rel,index,kind", list(_python_cases()))
def test_python_block(env, tmp_path, rel, index, kind):
    source = blocks(rel)[index][2].replace(EXAMPLE_URL, env["receiver"].url)
    e = dict(env["env"])
    if kind == "fake-board":
        import shutil

        shutil.copy(os.path.join(ROOT, "tests", "support", "tls", "ca.pem"), tmp_path)
        prelude = ("import countly_port\n"
                   "def _root(self):\n"
                   "    import os\n"
                   "    try:\n"
                   "        os.mkdir(%r)\n"
                   "    except OSError:\n"
                   "        pass\n"
                   "    return %r\n"
                   "countly_port.Platform.storage_root = _root\n"
                   % (str(tmp_path / "flash"), str(tmp_path / "flash")))
        (tmp_path / "block.py").write_text(prelude + source)
        e["MICROPYPATH"] = ":".join([os.path.join(ROOT, "tests", "esp32", "fakes"), ".frozen"]
                                    + [os.path.join(ROOT, p) for p in
                                       ("lib", "ports/common", "ports/esp32")])
        code, out = _run([MP, str(tmp_path / "block.py")], e, cwd=str(tmp_path))
        assert code == 0, out
        return
    (tmp_path / "block.py").write_text(source)
    paths = ["lib", "ports/common", "ports/unix"]
    if "countly_receiver" in source:
        paths.append("tools")
    e["PYTHONPATH"] = ":".join(os.path.join(ROOT, p) for p in paths)
    code, out = _run([sys.executable, str(tmp_path / "block.py")], e)
    assert code == 0, out
    if kind != "cpython-only" and "countly_receiver" not in source:
        m = dict(e, MICROPYPATH=".frozen:" + ":".join(os.path.join(ROOT, p) for p in paths))
        m.pop("PYTHONPATH")
        code, out = _run([MP, str(tmp_path / "block.py")], m)
        assert code == 0, out


def _sh_cases():
    for rel in FILES:
        for line, lang, text, kind, _reason in blocks(rel):
            if lang != "sh" or kind == "skip":
                continue
            if kind == "board" and "tools/deploy.py" not in text:
                continue  # nothing of it can run without the board: its REASON says what does
            yield pytest.param(rel, line, kind, id="%s:%d" % (rel, line))


def _block_at(rel, line):
    return [b for b in blocks(rel) if b[0] == line][0]


@pytest.mark.parametrize("rel,line,kind", list(_sh_cases()))
def test_shell_block(env, rel, line, kind):
    text = _block_at(rel, line)[2]
    e = dict(env["env"])
    if kind == "board":
        for cmd in text.strip().split("\n"):
            if "tools/deploy.py" in cmd:
                code, out = _run(["bash", "-ec", cmd + " --dry-run"], e)
                assert code == 0 and "mpremote" in out and " cp " in out, out
        return
    if kind is None and ("tools/receiver.py" in text or "make receiver" in text):
        kind = "server"  # a receiver command: it runs until stopped
    if kind == "server":
        port = _free_port()
        e["RECEIVER_PORT"] = str(port)
        _serve(text.replace("8080", str(port)), e, port)
        return
    # 8080 is the receiver the docs talk to: the test's; 8000 an install's HTTP server
    r = env["receiver"]
    text = text.replace("8080", str(r.port)).replace("8000", str(_free_port()))
    e["TOKEN"] = r.token
    code, out = _keep_root_clean(lambda: _run(["bash", "-ec", text], e, timeout=300))
    assert code == 0, out
    if "main.py" in text or "asyncio_sensor.py" in text:
        assert "pending=0" in out, out


def _serve(text, env, port):
    # `make demo` leaves .demo/ for the receiver commands that browse it: made when missing
    made = not os.path.exists(os.path.join(ROOT, ".demo")) and ".demo/" in text
    if made:
        os.makedirs(os.path.join(ROOT, ".demo"))
    try:
        _serve_in(text, env, port)
    finally:
        if made:
            import shutil

            shutil.rmtree(os.path.join(ROOT, ".demo"), ignore_errors=True)


def _serve_in(text, env, port):
    proc = subprocess.Popen(["bash", "-ec", "exec " + text.strip()], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        lines = []
        end = time.time() + 60
        while time.time() < end:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "listening on http://127.0.0.1:%d" % port in line:
                break
        assert any("listening on" in x for x in lines), "".join(lines)
        with urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=10) as page:
            assert page.status == 200
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


def test_every_block_is_run_or_says_why():
    # a block is code the tests run, text, or marked with the reason it is not run here
    for rel, line, lang, _text, kind, reason in all_blocks():
        where = "%s:%d" % (rel, line)
        assert lang in ("python", "sh", "text"), "%s: unknown block language %s" % (where,
                                                                                     lang)
        if kind in ("skip", "board", "cpython-only"):
            assert reason, "%s: a %s block needs its reason" % (where, kind)
        if lang == "text":
            assert kind is None, "%s: a marker on a text block" % where


def test_docs_link_only_inside_the_repository():
    for rel in FILES:
        text = open(os.path.join(ROOT, rel), encoding="utf-8").read()
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
            if target.startswith("http"):
                continue
            path = os.path.normpath(os.path.join(ROOT, os.path.dirname(rel), target))
            assert os.path.exists(path), "%s links to missing %s" % (rel, target)
        for word in ("../shared", "shared/", "protocol.md", "API.md", "embedded-notes"):
            assert word not in text, "%s points outside the repository: %s" % (rel, word)


@pytest.mark.parametrize("interpreter", ["cpython", "micropython"])
def test_asyncio_example_delivers_exactly_once(env, tmp_path, interpreter):
    # examples/asyncio_sensor.py: a sensor task beside ly.run(), every reading arrives once
    r = env["receiver"]
    e = dict(env["env"], COUNTLY_STORAGE=str(tmp_path), DEMO_READINGS="12",
             DEMO_PERIOD_MS="50", COUNTLY_APP_KEY="DEMO_APP_KEY")
    paths = ":".join(os.path.join(ROOT, p) for p in ("lib", "ports/common", "ports/unix"))
    if interpreter == "cpython":
        cmd, e["PYTHONPATH"] = [sys.executable], paths
    else:
        cmd, e["MICROPYPATH"] = [MP], ".frozen:" + paths
    before = {ev["device_id"] for ev in r.rows("events")}
    code, out = _run(cmd + [os.path.join(ROOT, "examples", "asyncio_sensor.py")], e,
                     timeout=60)
    assert code == 0 and "done pending=0" in out, out
    assert "recorded 11" in out and "sensor woke at most" in out, out
    events = [ev for ev in r.rows("events") if ev["device_id"] not in before]
    assert {ev["device_id"] for ev in events} and len({ev["device_id"] for ev in events}) == 1
    readings = sorted(ev["segmentation"]["n"] for ev in events if ev["key"] == "reading")
    assert readings == list(range(12)), readings
    sessions = [s for s in r.rows("sessions") if s["device_id"] == events[0]["device_id"]]
    assert len(sessions) == 1, sessions


def test_make_demo_delivers_every_reading():
    # the README's first command: a device under micropython, an outage, a kill; every
    # reading it accepted arrives exactly once (and it must accept some)
    code, out = _run(["make", "demo"], dict(os.environ), timeout=400)
    assert code == 0, out
    assert "nothing lost, nothing duplicated" in out, out
    accepted = re.search(r"device accepted (\d+) readings", out)
    assert accepted and int(accepted.group(1)) > 0, out
