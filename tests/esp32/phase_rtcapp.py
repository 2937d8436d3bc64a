# phase_rtcapp.py - apps that keep their own state in RTC memory next to the SDK: one writes
# machine.RTC().memory() directly, one shares it through countly_port.app_memory(). The app's
# bytes must come back intact after every wake, and the session must continue across the
# wakes. Runs inside tests/esp32/scenario.py.

import board
import machine
import network
from scenario_lib import at, check, drain, make, record, tick, warp


def _woke():
    return machine.reset_cause() == machine.DEEPSLEEP_RESET


def _online():
    network.connect_polls = 0
    board.write_secrets(1000)
    board.run_boot_py()


def _count(mine, tag):
    # the boot counter the app keeps: b"<tag>:<n>;<payload>"
    check(mine.startswith(tag + b":"), "the app's RTC data intact after the wake")
    return int(mine[len(tag) + 1 : mine.index(b";")])


def direct():
    rtc = machine.RTC()
    n = _count(rtc.memory(), b"direct") if _woke() else 0
    _online()
    if n == 0:
        at("begin")
    ly, p = make()
    check(ly.sessions.active, "session running")
    record(ly, "direct%d" % n)
    drain(ly)
    data = b"direct:%d;" % (n + 1) + b"d" * 1500
    rtc.memory(data)          # the app's own state, written directly, as apps do
    warp(61000)
    tick(ly)                  # a session report while RTC memory holds the app's data
    check(rtc.memory() == data, "the app's data not overwritten by a session report")
    drain(ly)
    check(rtc.memory() == data, "the app's data intact before the sleep")
    machine.deepsleep(20000)


def direct_end():
    rtc = machine.RTC()
    mine = rtc.memory()
    _count(mine, b"direct")
    _online()
    ly, p = make()
    check(ly.sessions.active, "session continued")
    record(ly, "direct_end")
    drain(ly)
    at("end")
    ly.stop()
    ly.flush()
    check(ly.pending() == 0, "all delivered")
    check(rtc.memory() == mine, "the app's data intact at the end")


def shared():
    import countly_port

    am = countly_port.app_memory()
    if _woke():
        n = _count(am.read(), b"shared")
    else:
        n = 0
        check(am.read() == b"", "app memory empty after power-on")
    _online()
    if n == 0:
        at("begin")
    ly, p = make()
    check(ly.sessions.active, "session running")
    if n:
        check(p.session_memory().trusted, "the SDK's slot survived the wake: trusted")
    record(ly, "shared%d" % n)
    data = b"shared:%d;" % (n + 1) + b"s" * 1900
    am.write(data)
    flash = ly.store.read("session")
    warp(61000)
    tick(ly)                  # a session report
    check(am.read() == data, "the app's data kept by a session report")
    if n:
        check(ly.store.read("session") == flash, "trusted slot: the report made no flash write")
    drain(ly)
    machine.deepsleep(20000)


def shared_end():
    import countly_port

    am = countly_port.app_memory()
    mine = am.read()
    _count(mine, b"shared")
    _online()
    ly, p = make()
    check(ly.sessions.active, "session continued")
    record(ly, "shared_end")
    drain(ly)
    at("end")
    ly.stop()
    ly.flush()
    check(ly.pending() == 0, "all delivered")
    check(am.read() == mine, "the app's data intact at the end")
