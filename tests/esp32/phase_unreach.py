# phase_unreach.py - records made before NTP, then the sync, but the server cannot be reached
# before deep sleep: after the wake the records still go out with their true time (the boot's
# tick anchor was kept on flash at the sync). Runs inside tests/esp32/scenario.py.

import os

import board
import machine
import network
from scenario_lib import at, check, drain, make, record, tick, warp


def synced_unreachable():
    network.connect_polls = -1
    board.write_secrets(100)
    board.run_boot_py()
    at("begin")
    ly, p = make(url=os.getenv("SCENARIO_DEAD_URL"))   # nothing listens there
    record(ly, "pre0")
    warp(5000)
    record(ly, "pre1")
    tick(ly, 3)
    check(p.epoch_ms() is None, "clock unset while offline")
    network.up()
    tick(ly)      # NTP
    check(p.synced(), "NTP synced")
    record(ly, "post0")
    for _ in range(8):
        tick(ly)
        warp(1000)
    check(ly.status()["delivered"] == 0 and ly.pending() > 0, "server unreachable: all kept")
    check(ly.store.read_checked("anchors") is not None, "the boot's anchor on flash")
    machine.deepsleep(30000)


def wake_delivers():
    network.connect_polls = 0
    board.write_secrets(1000)
    board.run_boot_py()
    ly, p = make()
    check(ly.sessions.active, "session continued")
    check(p.epoch_ms() is not None, "RTC valid after the wake")
    record(ly, "woke")
    drain(ly)
    at("end")
    ly.stop()
    ly.flush()
    check(ly.pending() == 0, "all delivered")
