# time.py - fake `time` for the simulated board: the unix port's time plus a skew the test adds
# with warp(ms), so waiting out a 60 s clock grace or a deep sleep costs no wall time. Ticks,
# the RTC (machine.py) and the NTP server's answer (ntptime.py) all read time through here, so
# they stay in step, as real time would keep them; tests/esp32/board.py carries the skew from
# one boot to the next.

from utime import *  # noqa: F403  (sleep_ms, ticks_diff, ticks_add, gmtime, ...)
import utime as _t

skew_ms = 0


def warp(ms):
    # ms pass for the whole board at once
    global skew_ms
    skew_ms += ms


def ticks_ms():
    return _t.ticks_add(_t.ticks_ms(), skew_ms)


def time_ns():
    return _t.time_ns() + skew_ms * 1000000


def time():
    return _t.time() + skew_ms // 1000
