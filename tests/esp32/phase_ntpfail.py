# phase_ntpfail.py - an NTP server that never answers while the app's loop ticks, the clock
# valid from the RTC (as deploy.py --rtc leaves it) and events to send: every tick is timed.
# A tick makes at most one bounded exchange: an NTP query (DNS on the first and after 4
# failures, then the 1 s UDP timeout) or one HTTP request, never both. Runs inside
# tests/esp32/scenario.py.

import board
import network
import ntptime
import socket
from scenario_lib import check, exchanges, make, record, set_rtc, timed_tick, warp

_DNS_MS = 300
_MARGIN_MS = 250


def failing_ntp():
    network.connect_polls = 0
    board.write_secrets(1000)
    board.run_boot_py()
    set_rtc()
    socket.dns_ms = _DNS_MS
    ntptime.fail = -1
    ly, p = make(event_queue_threshold=1)
    n = exchanges(ly, p)
    ticks = []
    while ntptime.queries < 5 and len(ticks) < 400:
        if len(ticks) % 10 == 0:
            record(ly, "r%d" % len(ticks))
        dns = socket.lookups.get("pool.ntp.org", 0)
        ms, ntp, http = timed_tick(ly, n, ntptime)
        ticks.append((ms, ntp, http, socket.lookups.get("pool.ntp.org", 0) - dns))
        warp(250)
    check(ntptime.queries == 5, "five NTP queries, all failed")
    check(not [t for t in ticks if t[1] > 1 or t[2] > 1 or (t[1] and t[2])],
          "one exchange per tick at most: NTP or HTTP, never both")
    check(socket.lookups["pool.ntp.org"] == 2, "DNS on the first query and after 4 failures")
    ntp = [t for t in ticks if t[1]]
    check(max(t[0] for t in ntp if t[3]) <= 1000 + _DNS_MS + _MARGIN_MS,
          "NTP tick with DNS within DNS + 1 s timeout")
    check(max(t[0] for t in ntp if not t[3]) <= 1000 + _MARGIN_MS,
          "NTP tick on the cached address within the 1 s timeout")
    http = [t for t in ticks if t[2]]
    check(len(http) >= 8 and ly.status()["delivered"] == len(http), "delivered between NTP ticks")
    ly.flush()
    check(ly.pending() == 0, "all delivered")
