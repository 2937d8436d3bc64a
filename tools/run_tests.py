# run_tests.py - the whole test suite: pytest on CPython, then every portable test on the real
# unix MicroPython binary under a 128 KiB heap, each test function in its own process: every
# test starts from a fresh heap, as a board does after power-on, and one test's heap use (the
# feature modules it loaded, the fragments it left) cannot fail another. The receiver and the
# scripted HTTP peer run here, in CPython, and reach the MicroPython tests through environment
# variables.
#
#   python tools/run_tests.py [--host-only | --mp-only] [--heap 128k] [module ...]

import glob
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
sys.path[:0] = [os.path.join(ROOT, "tools"), os.path.join(ROOT, "tests", "support")]

_SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed")


def micropython():
    exe = os.path.join(BIN, "micropython")
    return exe if os.path.exists(exe) else "micropython"


def run_host(extra):
    # Streams pytest's output through and keeps its counts for the final summary line.
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"] + extra
    print("$ " + " ".join(cmd), flush=True)
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    counts = {"passed": 0, "failed": 0, "error": 0, "errors": 0, "skipped": 0}
    last = ""
    for line in proc.stdout:
        sys.stdout.write(line)
        if " in " in line and ("passed" in line or "failed" in line or "error" in line):
            last = line
    code = proc.wait()
    for n, word in re.findall(r"(\d+) (passed|failed|errors?|skipped)", last):
        counts[word] += int(n)
    failed = counts["failed"] + counts["error"] + counts["errors"]
    if code != 0 and failed == 0:
        failed = 1  # pytest failed without a count (collection error, crash)
    return code, counts["passed"], failed, counts["skipped"]


def build_tests():
    # The portable tests and their support modules as .mpy too: compiling them from source
    # inside the 128 KiB heap would leave it fragmented before the SDK under test starts.
    from build_mpy import _compile

    out = os.path.join(ROOT, "build", "mpy-tests")
    for sub in ("tests/support", "tests/portable"):
        for path in sorted(glob.glob(os.path.join(ROOT, sub, "*.py"))):
            name = os.path.basename(path)[:-3]
            _compile(path, os.path.join(out, name + ".mpy"), name, None)
    return out


def _tests_of(mod):
    # The test functions of a portable module, read from its source (no import needed).
    with open(os.path.join(ROOT, "tests", "portable", mod + ".py")) as f:
        return re.findall(r"^def (test_\w+)\(", f.read(), re.M)


def over_budget():
    # tests/heap_over_budget.txt: the tests that do not pass under the 128k rule yet, each with
    # the smallest heap it passed at. They run at that heap and are named on every run, so the
    # debt stays in sight. -> {"module:function" or "module": heap}
    table = {}
    with open(os.path.join(ROOT, "tests", "heap_over_budget.txt")) as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            if len(line) >= 2:
                table[line[0]] = line[1]
    return table


def _run_one(heap, mod, test, env, timeout_s):
    cmd = [micropython(), "-X", "heapsize=" + heap,
           os.path.join(ROOT, "tests", "mp_runner.py"), ROOT, mod + ":" + test]
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=timeout_s)
        return proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as e:
        return -1, (e.stdout or b"").decode(errors="replace") + "\nTIMEOUT"


def run_mp(heap, modules, timeout_s=300):
    from countly_receiver import Receiver
    from hostile_server import HostileServer
    from scripted_server import ScriptedServer

    receiver = Receiver(apps={"APPKEY": None, "SALTED": "s3cr3t"}, db_path=":memory:")
    receiver.start(host="127.0.0.1", port=0)
    peer = ScriptedServer()
    peer.start()
    hostile = HostileServer(seed=7).start()
    env = dict(os.environ)
    env["COUNTLY_TEST_RECEIVER"] = receiver.url
    env["COUNTLY_TEST_RECEIVER_TOKEN"] = receiver.token
    env["COUNTLY_TEST_SERVER"] = peer.url
    env["COUNTLY_TEST_HOSTILE"] = hostile.url
    from build_mpy import build

    env["COUNTLY_MPY"] = build()[0]
    env["COUNTLY_MPY_TESTS"] = build_tests()
    if not modules:
        modules = sorted(os.path.basename(p)[:-3]
                         for p in glob.glob(os.path.join(ROOT, "tests", "portable", "test_*.py")))
    passed = failed = 0
    table = over_budget() if heap == "128k" else {}
    over = []
    try:
        for mod in modules:
            receiver.reset()
            t0 = time.time()
            mod_passed = mod_failed = 0
            heaps = []
            for test in _tests_of(mod):
                h = table.get(mod + ":" + test) or table.get(mod) or heap
                if h != heap:
                    over.append("%s:%s at %s" % (mod, test, h))
                if h not in heaps:
                    heaps.append(h)
                code, out = _run_one(h, mod, test, env, timeout_s)
                counts = None
                for line in out.splitlines():
                    m = _SUMMARY.match(line.strip())
                    if m:
                        counts = int(m.group(1)), int(m.group(2))
                if counts is None or code != 0:
                    print(out)
                    counts = (counts[0] if counts else 0), max(1, counts[1] if counts else 1)
                elif "-v" in sys.argv:
                    print(out)
                mod_passed += counts[0]
                mod_failed += counts[1]
            passed += mod_passed
            failed += mod_failed
            print("micropython -X heapsize=%s %s: %d passed, %d failed (%.1f s)"
                  % ("/".join(heaps), mod, mod_passed, mod_failed, time.time() - t0), flush=True)
    finally:
        hostile.stop()
        peer.stop()
        receiver.stop()
    if over:
        print("OVER THE %s HEAP BUDGET (tests/heap_over_budget.txt), %d tests:"
              % (heap, len(over)))
        for line in over:
            print("  " + line)
    return passed, failed


def main(argv):
    heap = "128k"
    if "--heap" in argv:
        heap = argv[argv.index("--heap") + 1]
    modules = [a for a in argv if a.startswith("test_")]
    host = (0, 0, 0, 0)
    mp = (0, 0)
    if "--mp-only" not in argv:
        host = run_host([a for a in argv if a.startswith("tests/")])
        print("pytest: %d passed, %d failed, %d skipped" % host[1:])
    if "--host-only" not in argv:
        mp = run_mp(heap, modules)
        print("micropython: %d passed, %d failed" % mp)
    ok = host[0] == 0 and mp[1] == 0
    # The closing line counts both runtimes, in the form CI tooling reads.
    print("total: %d passed, %d failed, %d skipped"
          % (host[1] + mp[0], host[2] + mp[1], host[3]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
