# phase_nosync.py - a boot that never gets a valid clock, then a power-on that delivers its
# records without a client timestamp. Runs inside tests/esp32/scenario.py.

import board
import network
from scenario_lib import check, drain, make, record, tick


def nosync_first():
    # A boot that never gets a valid clock: its records carry no usable time.
    network.connect_polls = -1
    board.write_secrets(100)
    board.run_boot_py()
    ly, p = make()
    record(ly, "unsynced")
    ly.batcher.close()
    tick(ly, 3)
    check(ly.pending() >= 2, "queued offline")
    # power off: the process ends without a sleep, RTC and its memory are lost


def nosync_second():
    network.connect_polls = 0
    board.write_secrets(1000)
    board.run_boot_py()
    ly, p = make()
    drain(ly)
    ly.stop()
    ly.flush()
    check(ly.pending() == 0, "earlier boot's records delivered")
