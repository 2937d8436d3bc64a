# test_aio_heartbeat.py - an app's 100 ms heartbeat task beside ly.run() while the server hangs,
# refuses connections, drips its answer one byte at a time, resets the connection or never
# completes a connect; then the server behaves and everything recorded arrives exactly once.
#
# The SDK is the real one on the unix port's asyncio transport (countly_aio_http), with a 1 s
# http_timeout: each hostile phase lasts long enough for one whole failed exchange. A sensor
# task records an event every 250 ms throughout, as an app would. The heartbeat measures the
# gap between its wake-ups; the longest gap per phase is printed (quotable figures) and must
# stay within GAP_LIMIT_MS. The test's own control calls to the hostile server block the loop
# for a moment: the gap they fall in is not counted.
#
# Exactly once: every request the SDK sent (hashed as the server logs it) was processed by
# the server, in order, and a request processed twice was processed twice in a row (a slow
# drip the SDK gave up on, then its byte-identical retry: the duplicate Countly's own check
# drops). Both runtimes; MicroPython reaches the hostile server through COUNTLY_TEST_HOSTILE.
# The SDK with its asyncio transport leaves little of a 128 KiB heap on the 64-bit binary, so
# this module talks to the hostile server through the SDK's own HTTP client (chaoskit gives
# only the request hashing), and keeps request hashes short.

import json
import os
import sys
import time

import countly_port
from chaoskit import params_without_rr

from countly_mp.compat import sha256_hex
from countly_mp.config import Config
from countly_mp.countly import Countly

_MP = sys.implementation.name == "micropython"
PERIOD_MS = 100
GAP_LIMIT_MS = 150
PHASE_MS = 1400  # one failed exchange (1 s timeout) plus the run() period around it
SENSOR_MS = 250
_HASH = 16  # hex digits of a request hash kept: enough to tell ~50 requests apart


def _url():
    u = os.getenv("COUNTLY_TEST_HOSTILE")
    if not u and not _MP:
        import test_transport_chaos

        u = test_transport_chaos.url()  # the in-process server of the CPython run
    return u


def _ctl(what, method="GET", scan=None):
    # One control call on a connection of its own (the server answers and closes), read in
    # small pieces: the SDK with its asyncio transport leaves no room for a large block.
    # -> the decoded JSON answer, or with scan: scan(piece) is called on the body as it comes.
    import socket

    host, port = _url().split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)
    s = socket.socket()
    try:
        s.settimeout(5)
        s.connect(socket.getaddrinfo(host, int(port))[0][-1])
        s.send(("%s /__hostile/%s HTTP/1.0\r\nContent-Length: 0\r\n\r\n" % (method, what))
               .encode())
        head = b""
        body = b""
        while True:
            piece = s.recv(256)
            if not piece:
                break
            if head is not None:
                head += piece
                i = head.find(b"\r\n\r\n")
                if i < 0:
                    continue
                piece, head = head[i + 4 :], None
            if scan is not None:
                scan(piece)
            else:
                body += piece
    finally:
        s.close()
    return None if scan is not None else json.loads(body)


class _Processed:
    # The hashes of the processed requests in the server's log, scanned from its JSON as it
    # arrives: entries read {"n": .., "mode": .., "processed": true, "h": "<hex>", ...}.
    def __init__(self):
        self.hashes = []
        self._tail = b""

    def __call__(self, piece):
        data = self._tail + piece
        key = b'"processed": true, "h": "'
        at = 0
        while True:
            i = data.find(key, at)
            if i < 0 or i + len(key) + _HASH > len(data):
                break
            self.hashes.append(data[i + len(key) : i + len(key) + _HASH].decode())
            at = i + len(key)
        # keep what may hold the start of a match cut by the piece's end, never a counted one
        self._tail = data[at:] if i >= 0 else data[max(at, len(data) - len(key) - _HASH) :]


def _now_ms():
    if _MP:
        return time.ticks_ms()
    return int(time.monotonic() * 1000)


def _since(t0):
    if _MP:
        return time.ticks_diff(time.ticks_ms(), t0)
    return _now_ms() - t0


def _tmpdir():
    if _MP:
        name = "/tmp/countly_hb_" + "".join("%02x" % b for b in os.urandom(6))
        os.mkdir(name)
        return name
    import tempfile

    return tempfile.mkdtemp(prefix="countly_hb_")


async def _sleep_ms(ms):
    import asyncio

    if _MP:
        await asyncio.sleep_ms(ms)
    else:
        await asyncio.sleep(ms / 1000)


class Watch:
    # Wraps the SDK's asyncio transport: the hash of each request sent, and whether an
    # exchange is in flight (the test changes servers only between exchanges).
    def __init__(self):
        self.t = None
        self.sent = []
        self.busy = 0

    async def exchange(self, method, path, body=None, content_type=None, max_body=None):
        self.sent.append(sha256_hex(params_without_rr(path, body))[:_HASH])
        self.busy += 1
        try:
            return await self.t.exchange(method, path, body, content_type, max_body)
        finally:
            self.busy -= 1

    def close(self):
        self.t.close()


class Platform(countly_port.Platform):
    watch = None

    def async_transport(self, url, timeout_ms, tls_verify=None, ca_data=None):
        if self.watch is None:
            self.watch = Watch()
        self.watch.t = countly_port.Platform.async_transport(self, url, timeout_ms,
                                                             tls_verify, ca_data)
        return self.watch


async def _heartbeat(state):
    last = _now_ms()
    while state["on"]:
        await _sleep_ms(PERIOD_MS)
        gap = _since(last)
        last = _now_ms()
        if state["skip"]:
            state["skip"] = False  # the test's own control call fell in this gap
        elif gap > state["max"]:
            state["max"] = gap


async def _sensor(ly, state):
    n = 0
    while state["sensor"]:
        state["accepted"] += ly.events.record("reading", segmentation={"n": n}) is True
        n += 1
        await _sleep_ms(SENSOR_MS)
    state["recorded"] = n


async def _idle(watch):
    # An exchange is bounded by http_timeout: this wait is too.
    while watch is not None and watch.busy:
        await _sleep_ms(10)


def _switch(ly, state, url, mode):
    _ctl("force/" + mode, "POST")
    ly.set_server_url(url)  # also ends the backoff of the last phase: the next atick() sends
    state["skip"] = True


def _run(ly, p, phases, good):
    import asyncio

    state = {"on": True, "sensor": True, "skip": False, "max": 0, "accepted": 0,
             "recorded": 0}
    worst = []

    async def main():
        beat = asyncio.create_task(_heartbeat(state))
        sensor = asyncio.create_task(_sensor(ly, state))
        sdk = asyncio.create_task(ly.run(PERIOD_MS))
        for label, url, mode in phases:
            await _idle(p.watch)
            _switch(ly, state, url, mode)
            state["max"] = 0
            await _sleep_ms(PHASE_MS)
            worst.append((label, state["max"]))
        await _idle(p.watch)
        _switch(ly, state, good, "ok")
        state["max"] = 0
        state["sensor"] = False
        await sensor
        for _ in range(100):  # the backlog at one request per period, bounded
            if ly.pending() == 0:
                break
            await _sleep_ms(PERIOD_MS)
        worst.append(("ok", state["max"]))
        ly.stop()
        await sdk
        await ly.aflush()  # the session's end
        state["on"] = False
        await beat

    asyncio.run(main())
    return state, worst


def test_heartbeat_beside_run_through_a_hostile_server():
    if not _url():
        print("skip: aio heartbeat beside run() (COUNTLY_TEST_HOSTILE not set)")
        return
    _ctl("reset/5", "POST")
    urls = _ctl("urls")
    refused = "http://127.0.0.1:%d" % _ctl("free_port")["port"]
    good = _url()
    phases = (("hang", good, "hang"), ("refused", refused, "ok"),
              ("slow drip", good, "slow_drip"), ("reset", good, "rst"),
              ("black hole", urls["blackhole"], "ok"))
    cfg = Config(good, "APPKEY", http_timeout=1, retry_cooldown=1, event_queue_threshold=2)
    p = Platform(cfg, storage_root=_tmpdir())
    ly = Countly(cfg, platform=p)
    state, worst = _run(ly, p, phases, good)
    print("aio heartbeat beside run() (%s), longest gap ms of a %d ms ticker: %s"
          % ("micropython" if _MP else "cpython", PERIOD_MS,
             " ".join("%s=%d" % (label, gap) for label, gap in worst)))

    st = ly.status()
    pending = ly.pending()
    sent = p.watch.sent
    ly = p = None  # the server's log is read into the heap the SDK held
    import gc

    gc.collect()
    assert state["accepted"] == state["recorded"] > 0, state
    assert pending == 0 and st["dropped"] == 0 and st["corrupt"] == 0, st
    order = []
    for h in sent:
        if h not in order:
            order.append(h)
    scan = _Processed()
    _ctl("log", scan=scan)
    processed = scan.hashes
    missing = [h for h in order if h not in processed]
    assert not missing, "%d requests never processed" % len(missing)
    firsts = []
    for i, h in enumerate(processed):
        if h in firsts:
            assert processed[i - 1] == h, "processed twice, not as a byte-identical resend"
        else:
            firsts.append(h)
    assert firsts == order, "order not kept"
    assert st["delivered"] == len(order), (st["delivered"], len(order))
    assert len(sent) > len(order), "no exchange failed: the phases were not hostile"
    for label, gap in worst:
        assert gap <= GAP_LIMIT_MS, "heartbeat gap %d ms during %s" % (gap, label)
