# phase_wake.py - the boot after deep sleep: the session continues, no new begin_session.
# Runs inside tests/esp32/scenario.py.

import board
import machine
import network
from scenario_lib import _peak, check, drain, make, record


def wake_boot():
    check(machine.reset_cause() == machine.DEEPSLEEP_RESET, "woke from deep sleep")
    network.connect_polls = 2
    board.write_secrets(2000)
    board.run_boot_py()
    check(network.connected, "wifi up after wake")
    ly, p = make()
    check(p.woke_from_sleep(), "port reports the wake")
    check(p.epoch_ms() is not None, "RTC time valid after deep sleep without NTP")
    check(ly.sessions.active, "session resumed")
    record(ly, "after_wake")
    drain(ly)
    ly.stop()
    ly.flush()
    check(ly.pending() == 0, "all delivered")
    check(p.synced(), "NTP re-synced in this boot")
    print("MEM peak %d" % _peak[0])
