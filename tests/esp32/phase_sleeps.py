# phase_sleeps.py - one session across two deep sleeps, its reports before each sleep made with
# the clock never set, NTP only in the last boot: the durations must add up to the true time
# from begin to end (the port's sleep clock carries the time asleep). Runs inside
# tests/esp32/scenario.py.

import board
import machine
import network
from scenario_lib import at, check, drain, make, tick, warp


def _offline():
    network.connect_polls = -1
    board.write_secrets(100)
    board.run_boot_py()


def unset_first():
    _offline()
    at("begin")
    ly, p = make()
    check(p.epoch_ms() is None, "clock unset")
    warp(61000)
    tick(ly)      # a session update, the clock unset
    warp(9000)
    tick(ly)
    check(p.session_memory().read()[:2] == b"1 ", "session state in RTC memory")
    machine.deepsleep(30000)


def unset_wake():
    _offline()
    ly, p = make()
    check(ly.sessions.active, "session continued")
    check(p.epoch_ms() is None, "clock still unset after the wake")
    check(ly.sessions._carry_ms >= 39000, "time since the last report carried")
    warp(61000)
    tick(ly)      # the last report before the sleep: the clock unset
    warp(4000)
    tick(ly)
    machine.deepsleep(45000)


def synced_end():
    network.connect_polls = 0
    board.write_secrets(1000)
    board.run_boot_py()
    ly, p = make()
    check(ly.sessions.active, "session continued")
    check(ly.sessions._carry_ms >= 49000, "time asleep carried")
    tick(ly)      # NTP: the RTC steps from 2000 to now
    check(p.synced(), "NTP synced")
    warp(20000)
    tick(ly)
    drain(ly)
    at("end")
    ly.stop()
    ly.flush()
    check(ly.pending() == 0, "all delivered")
