# scenario.py - the ESP32 device scenarios, one boot per process, under unix MicroPython with
# the fake board (tests/esp32/board.py). Driven by tests/host/test_esp32_device.py, which runs
# the receiver and checks what it stored; lines starting with a tag are read by that test:
#   EV <key> <true_ms>     an event recorded at this true (board) time
#   AT <what> <true_ms>    a moment the test checks a request's date against (begin, end, ...)
#   CRASH <true_ms>        a fatal crash recorded through crashes.guard()
#   NOCRASHES              the crashes feature is not installed yet
#   TICK <ms> <ntp> <http> a tick's duration, NTP queries and HTTP exchanges made in it
#   OK <what>              a device-side check passed
#   MEM <label> <bytes>    gc.mem_alloc() after gc.collect() (tools/mem_report.py)
# Each boot's steps live in their own module (phase_*.py), so a boot holds only its own
# bytecode: the harness must leave the heap to the SDK.
#
#   SCENARIO_DIR=<state dir> SCENARIO_PHASE=<phase> micropython -X heapsize=128k -m scenario
#   (see tests/esp32/harness.py; the phases are in _PHASES)

import os
import sys

sys.path.append((os.getenv("COUNTLY_ROOT") or ".") + "/tests/esp32")  # when run from source
import board  # noqa: E402  (sets sys.path: fakes first)

# phase: (module, function, how the boot starts: a chip's unique_id for a power-on of a new
# board, b"" for a power-on of the same board, None for a wake from deep sleep)
_PHASES = {
    "first": ("phase_first", "first_boot", b"\x24\x6f\x28\xa1\xb2\xc3"),
    "wake": ("phase_wake", "wake_boot", None),
    "nosync1": ("phase_nosync", "nosync_first", b"\x24\x6f\x28\x00\x00\x01"),
    "nosync2": ("phase_nosync", "nosync_second", b""),
    "late": ("phase_late", "late_boot", b"\x24\x6f\x28\x00\x00\x0a"),
    "unreach1": ("phase_unreach", "synced_unreachable", b"\x24\x6f\x28\x00\x00\x0b"),
    "unreach2": ("phase_unreach", "wake_delivers", None),
    "sleeps1": ("phase_sleeps", "unset_first", b"\x24\x6f\x28\x00\x00\x0c"),
    "sleeps2": ("phase_sleeps", "unset_wake", None),
    "sleeps3": ("phase_sleeps", "synced_end", None),
    "direct1": ("phase_rtcapp", "direct", b"\x24\x6f\x28\x00\x00\x0d"),
    "direct2": ("phase_rtcapp", "direct", None),
    "direct3": ("phase_rtcapp", "direct_end", None),
    "shared1": ("phase_rtcapp", "shared", b"\x24\x6f\x28\x00\x00\x0e"),
    "shared2": ("phase_rtcapp", "shared", None),
    "shared3": ("phase_rtcapp", "shared_end", None),
    "ntpfail": ("phase_ntpfail", "failing_ntp", b"\x24\x6f\x28\x00\x00\x0f"),
    "tls1": ("phase_tls", "before_sync", b"\x24\x6f\x28\x00\x00\x10"),
    "tls2": ("phase_tls", "after_wake", None),
}


def main():
    d, phase = os.getenv("SCENARIO_DIR"), os.getenv("SCENARIO_PHASE")
    mod, name, start = _PHASES[phase]
    if start is None:
        board.wake(d)
    else:
        board.power_on(d, uid=start or None)
    import time

    print("AT boot %d" % (time.time_ns() // 1000000))   # the board's true time (fake time)
    fn = getattr(__import__(mod), name)
    end = board.run(fn)
    print("AT exit %d" % (time.time_ns() // 1000000))
    print("END %s %s" % (phase, end))


main()
