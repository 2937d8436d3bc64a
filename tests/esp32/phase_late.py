# phase_late.py - Wi-Fi comes up after the core's 60 s clock grace and the first NTP query
# fails: sending waits for the retry (the port says a sync is still plausible), so
# begin_session and everything else go out dated. Runs inside tests/esp32/scenario.py.

import board
import network
import ntptime
from scenario_lib import at, check, drain, make, record, tick, warp


def late_boot():
    network.connect_polls = -1
    board.write_secrets(100)
    board.run_boot_py()
    at("begin")
    ly, p = make()
    record(ly, "offline0")
    tick(ly, 3)
    warp(61000)   # a minute offline: the clock grace is over
    record(ly, "offline1")
    tick(ly, 3)
    check(ly.status()["delivered"] == 0 and ntptime.queries == 0, "offline: no send, no NTP")

    network.up()
    ntptime.fail = 1
    tick(ly)      # the first NTP query times out: that was the tick's exchange
    check(ntptime.queries == 1 and not p.synced(), "first NTP query failed")
    check(p.sync_pending(), "port: a sync is still plausible")
    tick(ly, 5)
    check(ly.status()["delivered"] == 0, "sending held while NTP is retried")
    warp(2000)    # the retry is due
    tick(ly)
    check(p.synced() and ntptime.queries == 2, "NTP synced on the retry")
    check(ly.status()["delivered"] == 0, "nothing sent in the NTP tick")
    record(ly, "synced")
    drain(ly)
    check(ly.status()["delivered"] >= 2, "delivered after the sync")
    at("end")
    ly.stop()
    ly.flush()
    check(ly.pending() == 0, "all delivered")
