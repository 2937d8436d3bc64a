# ntptime.py - fake micropython-lib ntptime: "asks" the host clock instead of an NTP server.
# Like the real settime(), it writes whole seconds (subseconds 0) through machine.RTC(), so
# the device clock ends up behind true time by less than 1 s, as on a board.
#
#   ntptime.fail = n      the next n queries raise OSError(ETIMEDOUT)
#   ntptime.queries       how many queries were made (also while offline: then they raise)

import errno
import time as _time

host = "pool.ntp.org"
timeout = 1
fail = 0
queries = 0
offline_queries = 0


def time():
    # -> seconds since 2000-01-01, like the real one on an ESP32
    global fail, queries, offline_queries
    import network

    queries += 1
    if not network.connected:
        offline_queries += 1   # a real board would block in DNS here
        raise OSError(errno.EHOSTUNREACH)
    if fail > 0:
        fail -= 1
        raise OSError(errno.ETIMEDOUT)
    return _time.time_ns() // 1000000000 - 946684800


def settime():
    import machine

    t = time() + 946684800
    days, rem = divmod(t, 86400)
    y, m, d = machine._civil_from_days(days)
    machine.RTC().datetime((y, m, d, (days + 3) % 7, rem // 3600, rem // 60 % 60, rem % 60, 0))
