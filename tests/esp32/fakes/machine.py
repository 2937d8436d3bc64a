# machine.py - fake ESP32 `machine` module for host tests under unix MicroPython.
#
# The wall clock lives in the fake RTC, as on the chip: it counts from 2000-01-01 (the ESP32
# epoch) at power-on, RTC.datetime(tuple) sets it (that is what ntptime.settime() does) and it
# survives a deep sleep (tests/esp32/board.py carries it across processes). The port reads it
# through Platform(time_ns=machine.time_ns_2000), the seam a real board fills with time.time_ns.
# deepsleep() raises DeepSleep; the test harness saves the board state and exits.

import time

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5

_EPOCH_2000_S = 946684800

# Board state; board.py loads/saves it between "boots".
state = {
    "uid": b"\x24\x6f\x28\xa1\xb2\xc3",
    "cause": PWRON_RESET,
    "rtc_base_ns": 0,          # device (2000-based) ns at host time rtc_host_ns
    "rtc_host_ns": None,
    "rtc_mem": b"",
    "sleep_ms": None,          # set by deepsleep()
    "wdt": None,
}


class DeepSleep(SystemExit):
    # The marker deepsleep() raises: the process ends like the chip powering down.
    pass


def _host_ns():
    return time.time_ns()


def time_ns_2000():
    # Device wall clock in ns since 2000-01-01, like time.time_ns() on an ESP32.
    if state["rtc_host_ns"] is None:
        power_on_clock()
    return state["rtc_base_ns"] + (_host_ns() - state["rtc_host_ns"])


def power_on_clock():
    state["rtc_base_ns"] = 0
    state["rtc_host_ns"] = _host_ns()


def _days_from_civil(y, m, d):
    # Howard Hinnant's algorithm, days since 1970-01-01 (time.mktime is local time on unix)
    if m <= 2:
        y -= 1
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(z):
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return (y + 1 if m <= 2 else y), m, d


def unique_id():
    return state["uid"]


def reset_cause():
    return state["cause"]


def freq(hz=None):
    return 240000000


def idle():
    pass


class RTC:
    def datetime(self, dt=None):
        if dt is None:
            ns = time_ns_2000()
            s = ns // 1000000000 + _EPOCH_2000_S
            days, rem = divmod(s, 86400)
            y, m, d = _civil_from_days(days)
            wd = (days + 3) % 7   # 1970-01-01 was a Thursday; Monday = 0 as on the chip
            return (y, m, d, wd, rem // 3600, rem // 60 % 60, rem % 60,
                    (ns // 1000) % 1000000)
        y, m, d, _wd, hh, mm, ss, us = dt
        s = _days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss - _EPOCH_2000_S
        state["rtc_base_ns"] = s * 1000000000 + us * 1000
        state["rtc_host_ns"] = _host_ns()

    def memory(self, data=None):
        if data is None:
            return state["rtc_mem"]
        if len(data) > 2048:
            raise ValueError("data too large")
        state["rtc_mem"] = bytes(data)


class WDT:
    def __init__(self, id=0, timeout=5000):
        if timeout < 1000:
            raise ValueError("timeout too short")
        state["wdt"] = timeout
        self.feeds = 0

    def feed(self):
        self.feeds += 1


def deepsleep(ms=0):
    state["sleep_ms"] = ms
    raise DeepSleep()


def lightsleep(ms=0):
    time.sleep_ms(ms)


def reset():
    state["cause"] = HARD_RESET
    raise DeepSleep()


def soft_reset():
    state["cause"] = SOFT_RESET
    raise DeepSleep()
