# phase_first.py - power-on without Wi-Fi, offline records and a crash, Wi-Fi and NTP come up,
# the link drops mid-drain, then deep sleep. Runs inside tests/esp32/scenario.py.

import time

import board
import machine
import network
import ntptime
from scenario_lib import _peak, check, crash, drain, make, mem, record, tick


def first_boot():
    # Power-on with no Wi-Fi: boot.py gives up after its bounded wait, the SDK records.
    network.connect_polls = -1
    board.write_secrets(300)
    t0 = time.ticks_ms()
    board.run_boot_py()
    check(time.ticks_diff(time.ticks_ms(), t0) < 1500, "boot.py wait bounded")
    check(not network.connected, "offline after boot")
    mem("boot")
    ly, p = make()
    mem("init")
    check(p.epoch_ms() is None, "clock invalid before NTP")
    for i in range(6):
        record(ly, "e%d" % i, n=i)
    crash(ly)
    tick(ly, 10)
    check(ntptime.queries == 0, "no NTP query while offline")
    check(ly.status()["delivered"] == 0, "nothing sent while offline")

    # Wi-Fi comes up; the first NTP query times out, the retry 2 s later succeeds
    network.up()
    ntptime.fail = 1
    tick(ly, 1)
    check(ntptime.queries == 1 and not p.synced(), "first NTP query failed")
    check(ly.status()["delivered"] == 0, "sending held while the clock is invalid")
    start = time.ticks_ms()
    while not p.synced() and time.ticks_diff(time.ticks_ms(), start) < 5000:
        tick(ly, 1, 50)
    check(p.synced() and ntptime.queries == 2, "NTP synced on the backoff retry")

    # drain; the link dies mid-exchange, then stays down for a while
    for i in range(6, 9):
        record(ly, "e%d" % i, n=i)
    ok = 0
    for _ in range(500):
        if tick(ly) is True:   # delivered
            ok += 1
            if ok == 2:
                break
    check(ok == 2 and ly.pending() > 0, "two delivered, more to go")
    # The request reaches the server, then Wi-Fi drops before the answer arrives: the device
    # must keep it and send it again (the receiver's dedup drops the copy)
    fired = []
    make_transport = p.transport

    def transport(*a):
        t = make_transport(*a)
        real = t.exchange

        def exchange_then_drop(*b):
            real(*b)   # may fail by itself (e.g. ENOMEM): then the drop comes next time
            t.exchange = real
            fired.append(ly.pending())
            network.down()
            raise OSError(113)   # EHOSTUNREACH: the link is gone, the answer lost

        if not fired:
            t.exchange = exchange_then_drop
        return t

    p.transport = transport
    ly.sender.close()   # the next send opens its connection through the wrapper
    for _ in range(20):
        out = tick(ly)
        if fired:
            break
    check(fired and out is False, "exchange failed as the link dropped")
    before = fired[0]
    check(not network.connected, "link down")
    q = ntptime.queries
    tick(ly, 10)
    check(ly.pending() == before, "nothing sent or lost while offline")
    check(ntptime.queries == q, "no NTP while offline")
    network.up()
    drain(ly)
    check(ly.status()["delivered"] >= 4, "delivered after reconnect")

    # a last reading, delivered, then deep sleep: the session must continue on wake
    record(ly, "before_sleep")
    ly.flush()
    check(ly.pending() == 0, "flushed before sleep")
    check(p.session_memory().read()[:2] == b"1 ", "session state in RTC memory")
    mem("drained")
    print("MEM peak %d" % _peak[0])
    machine.deepsleep(1000)
