# ntptime.py - fake micropython-lib ntptime: "asks" the board's true time (the host clock plus
# the test's warp) instead of an NTP server. Like the real one it looks the host up through
# socket.getaddrinfo(host, 123) on every query, waits up to `timeout` s for the answer and
# writes whole seconds (subseconds 0) through machine.RTC().datetime(), so the device clock
# ends up behind true time by less than 1 s, as on a board.
#
#   ntptime.fail = n      the next n queries get no answer (-1: none ever does): each waits out
#                         its timeout (real time) and raises OSError(ETIMEDOUT)
#   ntptime.queries       queries made (also while offline: then they raise at once)

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
    import socket

    queries += 1
    if not network.connected:
        offline_queries += 1   # a real board would block in DNS here
        raise OSError(errno.EHOSTUNREACH)
    socket.getaddrinfo(host, 123)
    if fail:
        if fail > 0:
            fail -= 1
        _time.sleep_ms(int(timeout * 1000))   # recv() times out
        raise OSError(errno.ETIMEDOUT)
    return _time.time_ns() // 1000000000 - 946684800


def settime():
    import machine

    t = time() + 946684800
    days, rem = divmod(t, 86400)
    y, m, d = machine._civil_from_days(days)
    machine.RTC().datetime((y, m, d, (days + 3) % 7, rem // 3600, rem // 60 % 60, rem % 60, 0))
