# scenario.py - the ESP32 device scenario, one boot per process, under unix MicroPython with
# the fake board (tests/esp32/board.py). Driven by tests/host/test_esp32_device.py, which runs
# the receiver and checks what it stored; lines starting with a tag are read by that test:
#   EV <key> <true_ms>     an event recorded at this true (host) time
#   CRASH <true_ms>        a fatal crash recorded through crashes.guard()
#   NOCRASHES              the crashes feature is not installed yet
#   OK <what>              a device-side check passed
#   MEM <label> <bytes>    gc.mem_alloc() after gc.collect() (tools/mem_report.py)
# Each boot's steps live in their own module (phase_*.py), so a boot holds only its own
# bytecode: the harness must leave the 128 KiB heap to the SDK.
#
#   SCENARIO_DIR=<state dir> SCENARIO_PHASE=first|wake|nosync1|nosync2 \
#       micropython -X heapsize=128k -m scenario      (see tests/esp32/harness.py)

import os
import sys

sys.path.append((os.getenv("COUNTLY_ROOT") or ".") + "/tests/esp32")  # when run from source
import board  # noqa: E402  (sets sys.path: fakes first)


def main():
    d, phase = os.getenv("SCENARIO_DIR"), os.getenv("SCENARIO_PHASE")
    if phase in ("first", "nosync1"):
        board.power_on(d, uid=b"\x24\x6f\x28\xa1\xb2\xc3" if phase == "first"
                       else b"\x24\x6f\x28\x00\x00\x01")
    elif phase == "nosync2":
        board.power_on(d)
    else:
        board.wake(d)
    mod, name = {"first": ("phase_first", "first_boot"), "wake": ("phase_wake", "wake_boot"),
                 "nosync1": ("phase_nosync", "nosync_first"),
                 "nosync2": ("phase_nosync", "nosync_second")}[phase]
    fn = getattr(__import__(mod), name)
    end = board.run(fn)
    print("END %s %s" % (phase, end))


main()
