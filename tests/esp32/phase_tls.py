# phase_tls.py - https with ca_data: checking the server's certificate needs the date, so the
# core sends nothing before the clock is valid, however long NTP fails (beyond the port's hold
# and the 60 s grace), and sends dated requests after the sync and after a wake.
# The receiver speaks http: the transport the port builds for the https URL (verified with the
# CA) is checked, then each exchange goes to the receiver in plain http through a stand-in
# that fails it, like the certificate check of a board would, when the board's clock is not
# valid (and counts that: it must never happen). Runs inside tests/esp32/scenario.py.

import os

import board
import network
import ntptime
from scenario_lib import at, check, drain, make, record, tick, warp

_URL = "https://countly.example.com"


def _app():
    with open(os.getenv("COUNTLY_ROOT") + "/tests/support/tls/ca.pem", "rb") as f:
        ly, p = make(url=_URL, ca_data=f.read())
    n = [0, 0]   # exchanges, exchanges without a valid clock
    make_transport = p.transport

    def transport(url, timeout_ms, tls_verify=None, ca_data=None):
        t = make_transport(url, timeout_ms, tls_verify, ca_data)
        check(t.tls_verify and not t.insecure, "the port's transport verifies with ca_data")
        import countly_http

        plain = countly_http.HTTPClient(os.getenv("COUNTLY_TEST_RECEIVER"), timeout_ms)
        real = plain.exchange

        def exchange(*a):
            n[0] += 1
            if p.epoch_ms() is None:
                n[1] += 1
                raise OSError(113, "certificate not yet valid")
            return real(*a)

        plain.exchange = exchange
        return plain

    p.transport = transport
    ly.sender.close()
    return ly, p, n


def before_sync():
    network.connect_polls = 0
    board.write_secrets(1000)
    board.run_boot_py()
    ntptime.fail = 3
    at("begin")
    ly, p, n = _app()
    record(ly, "tls0")
    tick(ly)          # NTP query 1 fails
    warp(61000)       # past the core's clock grace
    tick(ly)          # NTP query 2 fails
    warp(400000)      # past the port's NTP hold: without ca_data records would go undated
    check(not p.sync_pending(), "the port's hold is over")
    tick(ly)          # NTP query 3 fails
    record(ly, "tls1")
    tick(ly, 5)
    ly.flush()
    check(n[0] == 0 and ly.pending() > 0, "nothing sent before the clock is valid")
    warp(8000)
    tick(ly)          # NTP query 4 syncs
    check(p.synced(), "NTP synced")
    drain(ly)
    check(n[0] > 0 and n[1] == 0, "sent after the sync, never without a valid clock")
    import machine

    machine.deepsleep(10000)


def after_wake():
    network.connect_polls = 0
    board.write_secrets(1000)
    board.run_boot_py()
    ntptime.fail = -1  # no NTP in this boot: the RTC kept the time through the sleep
    ly, p, n = _app()
    record(ly, "tls_wake")
    drain(ly)
    check(not p.synced() and n[0] > 0 and n[1] == 0, "sent at once on the RTC's valid clock")
    at("end")
    ly.stop()
    ly.flush()
    check(ly.pending() == 0, "all delivered")
