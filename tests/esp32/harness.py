# harness.py - CPython side of the ESP32 scenario: builds what the simulated board imports and
# runs one boot of tests/esp32/scenario.py under the unix micropython binary.
#
# Everything the board imports is bytecode, as on a deployed board: the SDK .mpy bundle
# (tools/build_mpy.py) plus the harness itself (scenario, board, the fake modules, recv,
# countly_wifi). Compiling those from source inside a 64 KiB heap would measure the compiler.
# Used by tests/host/test_esp32_device.py and tools/mem_report.py.

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_HARNESS = ("tests/esp32/scenario.py", "tests/esp32/scenario_lib.py", "tests/esp32/board.py",
            "tests/esp32/phase_first.py", "tests/esp32/phase_wake.py",
            "tests/esp32/phase_nosync.py", "tests/esp32/phase_late.py",
            "tests/esp32/phase_unreach.py", "tests/esp32/phase_sleeps.py",
            "tests/esp32/phase_rtcapp.py", "tests/esp32/phase_ntpfail.py",
            "tests/esp32/phase_tls.py", "tests/esp32/fakes/machine.py",
            "tests/esp32/fakes/network.py", "tests/esp32/fakes/ntptime.py",
            "tests/esp32/fakes/esp32.py", "tests/esp32/fakes/time.py",
            "tests/esp32/fakes/socket.py", "ports/esp32/countly_wifi.py")


def micropython():
    exe = os.path.join(os.path.dirname(sys.executable), "micropython")
    return exe if os.path.exists(exe) else "micropython"


def build(out):
    # -> (sdk .mpy dir, harness .mpy dir), both under out (private: others may be rebuilding
    # build/mpy at the same time)
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    from build_mpy import build as build_sdk, mpy_cross

    sdk = build_sdk(os.path.join(out, "sdk"))[0]
    h = os.path.join(out, "harness")
    os.makedirs(h, exist_ok=True)
    for rel in _HARNESS:
        name = os.path.basename(rel)[:-3]
        subprocess.check_call([mpy_cross(), "-o", os.path.join(h, name + ".mpy"), "-s",
                               name, os.path.join(ROOT, rel)])
    return sdk, h


def boot(phase, state, built, receiver_url, heap="64k", timeout=120, env=None):
    # One boot of the simulated board (env: more environment for the phase).
    # -> (exit code, output lines)
    sdk, h = built
    env = dict(os.environ, COUNTLY_ROOT=ROOT, COUNTLY_MPY=sdk, COUNTLY_FAKES=h,
               COUNTLY_TEST_RECEIVER=receiver_url, MICROPYPATH=h,
               SCENARIO_DIR=str(state), SCENARIO_PHASE=phase, **(env or {}))
    proc = subprocess.run([micropython(), "-X", "heapsize=" + heap, "-m", "scenario"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    return proc.returncode, (proc.stdout + proc.stderr).splitlines()
