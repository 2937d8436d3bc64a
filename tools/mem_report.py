# mem_report.py - heap figures for the README, measured on the unix MicroPython binary with
# the .mpy build and the fake ESP32 board (tests/esp32):
#   1. heap retained after `import` and after Countly() init (gc.collect(); gc.mem_alloc())
#   2. the device scenario (tests/esp32/scenario.py, boots "first" + "wake"): whether it passes
#      at the goal heap (64k), its sampled peak, and the smallest heap it passes at.
# The unix binary is 64-bit: objects and bytecode pointers are larger than on an ESP32, so
# these figures are an upper bound for a board. The harness (fake modules, scenario code) is
# counted in the scenario figures and reported separately ("harness").
#
#   python tools/mem_report.py [--heap 64k]

import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "tools"), os.path.join(ROOT, "tests", "esp32")]

import harness  # noqa: E402

_PROBE = """
import gc, sys
sys.path[:0] = [%(h)r, %(sdk)r, %(sdk)r + '/ports/esp32']
gc.collect(); a0 = gc.mem_alloc()
import machine, board
board.power_on(%(state)r)
gc.collect(); a1 = gc.mem_alloc()
from countly_mp import Config, Countly
import countly_port
gc.collect(); a2 = gc.mem_alloc()
cfg = Config('http://127.0.0.1:9', 'APPKEY')
p = countly_port.Platform(cfg, storage_root='/flash/countly', time_ns=machine.time_ns_2000,
                          epoch_year=2000)
ly = Countly(cfg, platform=p)
gc.collect(); a3 = gc.mem_alloc()
ly.events.record('x')
import countly_http
gc.collect(); a4 = gc.mem_alloc()
print('R', a1 - a0, a2 - a1, a3 - a2, a4 - a3, a4 - a1)
"""


def kb(n):
    return "%.1f KB" % (n / 1024)


def retained(built, heap):
    sdk, h = built
    state = tempfile.mkdtemp(prefix="countly_mem_")
    proc = subprocess.run([harness.micropython(), "-X", "heapsize=" + heap, "-c",
                           _PROBE % {"h": h, "sdk": sdk, "state": state}],
                          env=dict(os.environ, COUNTLY_ROOT=ROOT, COUNTLY_FAKES=h),
                          capture_output=True, text=True, timeout=60)
    for line in proc.stdout.splitlines():
        if line.startswith("R "):
            return [int(x) for x in line.split()[1:]]
    return proc.stdout + proc.stderr


def scenario(built, heap, receiver):
    # -> (passed, {label: bytes}) over the "first" and "wake" boots
    state = tempfile.mkdtemp(prefix="countly_mem_")
    mem = {}
    for phase in ("first", "wake"):
        code, lines = harness.boot(phase, state, built, receiver.url, heap)
        for ln in lines:
            if ln.startswith("MEM "):
                _, label, n = ln.split()
                mem["%s.%s" % (phase, label)] = int(n)
        if code != 0 or not any(ln.startswith("END " + phase) for ln in lines):
            return False, mem
    return True, mem


def main(argv):
    from countly_receiver import Receiver

    goal = argv[argv.index("--heap") + 1] if "--heap" in argv else "64k"
    built = harness.build(tempfile.mkdtemp(prefix="countly_mpy_"))
    r = retained(built, "512k")
    if isinstance(r, str):
        print(r)
        return 1
    print("heap retained (unix MicroPython, 64-bit, .mpy)")
    print("  %-44s %10s" % ("fake board + LittleFS mount (harness)", kb(r[0])))
    print("  %-44s %10s" % ("import countly_mp Config+Countly, port", kb(r[1])))
    print("  %-44s %10s" % ("Countly() init (session begun)", kb(r[2])))
    print("  %-44s %10s" % ("+ events feature + countly_http client", kb(r[3])))
    print("  %-44s %10s" % ("SDK total after first record and send path", kb(r[4])))
    receiver = Receiver(apps={"APPKEY": None}, db_path=":memory:")
    receiver.start(host="127.0.0.1", port=0)
    try:
        ok, mem = scenario(built, goal, receiver)
        print("device scenario at -X heapsize=%s: %s" % (goal, "PASSES" if ok else "FAILS"))
        smallest = None
        for k in range(64, 257, 8):
            ok_k, mem_k = scenario(built, "%dk" % k, receiver)
            if ok_k:
                smallest, mem = k, mem_k
                break
        if smallest is None:
            print("device scenario: fails at every heap up to 256k")
            return 1
        print("device scenario: smallest passing heap %dk (8k steps)" % smallest)
        for label in sorted(mem):
            print("  %-44s %10s" % (label, kb(mem[label])))
    finally:
        receiver.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
