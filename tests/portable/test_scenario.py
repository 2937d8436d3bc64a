# test_scenario.py - the product as the README shows it, at realistic volume, with Config
# defaults: a sensor loop that records several readings a second with a realistic segmentation
# and calls tick() once a second, for a simulated hour, with the server unreachable for a
# quarter of it and failing with 500s and transient 400s for a while, and a restart in the
# middle. Everything recorded must arrive exactly once, nothing may stay pending.
# Runs under pytest and under MicroPython (at 144k: tests/heap_over_budget.txt); the fake
# clock makes the hour take seconds.

import gc

from collect import Collector
from fakes import FakePlatform, tmpdir

from countly_mp.config import Config
from countly_mp.countly import Countly

URL = "http://127.0.0.1:9"
HOUR_S = 3600
PER_S = 3  # readings a second


def boot(root, server, was=None):
    p = FakePlatform(root=root, transport=server)
    if was is not None:
        p.now, p.t = was.now, was.t  # the clock goes on across the restart
    return Countly(Config(URL, "APPKEY", app_version="1.4.2"), platform=p), p


def _run(seconds, down_from, down_to, restart_at):
    server = Collector(ids=PER_S * HOUR_S)
    root = tmpdir("hour")
    ly, p = boot(root, server)
    n = 0
    accepted = 0
    refused = 0
    for s in range(seconds):
        server.down = down_from <= s < down_to
        if s == down_to + 60:
            server.answers = [(500, None, b'{"result":"boom"}')] * 3 + [
                (400, None, b'{"result":"Could not ingest data"}')] * 2
        if s == restart_at:
            ly = None  # power cut between two loop iterations: no stop(), no flush()
            gc.collect()  # a rebooted board starts from an empty heap; this is the nearest
            ly, p = boot(root, server, p)
        for k in range(PER_S):
            ok = ly.events.record("reading", sum=21.5 + k,
                                  segmentation={"id": n, "sensor": "bme280", "room": "lab-2",
                                                "fw": "1.4.2", "rssi": -60 - k})
            if ok:
                accepted += 1
            else:
                refused += 1
            n += 1
            p.advance(1000 // PER_S)
        ly.tick()
        p.advance(1000 - (1000 // PER_S) * PER_S)
    # The app ends: stop() closes the session, then what is left is delivered.
    ly.stop()
    for _ in range(60):
        if ly.flush() == 0 and ly.pending() == 0:
            break
        p.advance(3600000)
    return ly, server, n, accepted, refused


def _check(ly, server, n, accepted, refused):
    assert refused == 0 and accepted == n, (refused, accepted, n, ly.status())
    assert ly.pending() == 0
    missing, twice = server.delivered_once(range(n))
    assert missing == [] and twice == [], (len(missing), twice[:5])
    st = ly.status()
    assert st["dropped"] == 0 and st["trimmed"] == 0 and st["errors"] == 0, st
    # sessions: begun once per boot, updated about every minute while up, ended once
    assert server.kinds["begin_session"] == 2 and server.kinds["end_session"] == 1
    print("hour: %d readings, %d requests (%d resent), %d session updates"
          % (n, server.requests, server.duplicates, server.kinds.get("session_duration", 0)))


def test_an_hour_of_readings_with_the_server_down_for_a_quarter_of_it():
    _check(*_run(HOUR_S, 20 * 60, 35 * 60, 45 * 60))


def test_the_same_hour_with_both_queues_on_the_flash_ring():
    # The same product on the raw-flash ring (NOR rules) instead of LittleFS files.
    FakePlatform.queue = "ring"
    try:
        _check(*_run(HOUR_S, 20 * 60, 35 * 60, 45 * 60))
    finally:
        FakePlatform.queue = None
