# demo.py - a device on your desk: main.py on the unix port under the real micropython binary,
# reporting to the local receiver, through an outage and a hard kill.
#
# 1. starts the local receiver (tools/countly_receiver/, in this process) with its SQLite file
#    at .demo/receiver.sqlite
# 2. runs main.py under `micropython -X heapsize=128k` (the simulated sensor: a session and
#    one "reading" event per period)
# 3. takes the receiver down for a few seconds, then brings it back on the same port
# 4. kills the device process with SIGKILL mid-run and starts it again on the same storage
# 5. prints what the receiver stored, and checks every reading the device accepted arrived
#    exactly once. The database stays: `make receiver` serves it on http://127.0.0.1:8080/.
#
#   make demo, or .venv/bin/python tools/demo.py [--readings 60] [--period-ms 100] [--python]
#   (--python: the device runs on CPython instead of the micropython binary)

import os
import shutil
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from countly_receiver import Receiver  # noqa: E402

APP_KEY = "DEMO_APP_KEY"
PATH = ":".join(os.path.join(ROOT, p) for p in ("lib", "ports/common", "ports/unix"))
MPY_PATH = ":".join(os.path.join(ROOT, "build", "mpy", p) for p in ("", "ports/unix"))


def arg(name, default):
    if name in sys.argv:
        return type(default)(sys.argv[sys.argv.index(name) + 1])
    return default


class Device:
    # One run of main.py; collects the numbers of the readings it accepted.
    def __init__(self, url, storage, readings, period_ms, use_cpython):
        env = dict(os.environ)
        env.update({"COUNTLY_URL": url, "COUNTLY_APP_KEY": APP_KEY, "COUNTLY_STORAGE": storage,
                    "DEMO_READINGS": str(readings), "DEMO_PERIOD_MS": str(period_ms),
                    "MICROPYPATH": ".frozen:" + MPY_PATH, "PYTHONPATH": PATH})
        if use_cpython:
            cmd = [sys.executable, "main.py"]
        else:
            exe = os.path.join(os.path.dirname(sys.executable), "micropython")
            cmd = [exe if os.path.exists(exe) else "micropython", "-X", "heapsize=128k",
                   "main.py"]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.accepted = []
        self.done = False
        self.lines = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            line = line.strip()
            self.lines.append(line)
            if line.startswith("recorded "):
                self.accepted.append(int(line.split()[1]))
            elif line.startswith("done"):
                self.done = True

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._reader.join(5)

    def wait(self, timeout):
        self.proc.wait(timeout=timeout)
        self._reader.join(5)


def wait_for(cond, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False


def main():
    from build_mpy import build

    build()  # the device runs the .mpy bundle, as a board would
    readings = arg("--readings", 60)
    period = arg("--period-ms", 100)
    use_cpython = "--python" in sys.argv
    work = os.path.join(ROOT, ".demo")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    db = os.path.join(work, "receiver.sqlite")
    storage = os.path.join(work, "device")

    receiver = Receiver(apps={APP_KEY: None}, db_path=db)
    receiver.start(host="127.0.0.1", port=0)
    port = receiver.port
    print("receiver: %s  (open it in a browser while the demo runs)" % receiver.url)

    dev = Device(receiver.url, storage, readings, period, use_cpython)
    wait_for(lambda: len(dev.accepted) >= readings // 4, 60)
    print("receiver going down after %d readings" % len(dev.accepted))
    receiver.stop()
    wait_for(lambda: False, 2.0)  # the device keeps recording into its flash queue
    receiver = Receiver(apps={APP_KEY: None}, db_path=db)
    receiver.start(host="127.0.0.1", port=port)
    print("receiver back up")
    wait_for(lambda: len(dev.accepted) >= readings // 2, 60)
    print("killing the device process (SIGKILL) after %d readings" % len(dev.accepted))
    dev.kill()
    accepted = list(dev.accepted)
    dev = Device(receiver.url, storage, readings, period, use_cpython)
    print("device restarted on the same storage")
    if not wait_for(lambda: dev.done, 120):
        print("device did not finish:\n" + "\n".join(dev.lines[-20:]))
        dev.kill()
        receiver.stop()
        return 1
    dev.wait(10)
    accepted += dev.accepted

    events = receiver.rows("events")
    stored = [e["segmentation"]["n"] for e in events if e["key"] == "reading"]
    sessions = receiver.rows("sessions")
    stats = receiver.stats()
    receiver.stop()
    missing = sorted(set(accepted) - set(stored))
    dupes = sorted(n for n in set(stored) if stored.count(n) > 1)
    print("device accepted %d readings; receiver stored %d reading events in %d sessions"
          % (len(accepted), len(stored), len(sessions)))
    print("since it came back, the receiver served %d HTTP requests over %d TCP connections"
          % (stats["requests"], stats["connections"]))
    print("lost: %s  duplicated: %s" % (missing or "none", dupes or "none"))
    print("receiver database kept at %s" % db)
    print("browse it: make receiver, then open http://127.0.0.1:8080/ (Ctrl-C stops it)")
    if not accepted:
        print("DEMO FAILED: the device accepted no reading (see its lines above)")
        return 1
    if missing or dupes:
        print("DEMO FAILED")
        return 1
    print("nothing lost, nothing duplicated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
