# test_aio_transport.py - countly_aio_http.AsyncHTTPClient on CPython and MicroPython: the same
# contract as the sync client, and the event loop keeps running while it waits.
#
# The peer is tests/support/hostile_server.py (see test_transport_chaos.py for how each
# runtime reaches it). The heartbeat test runs a 100 ms ticker beside exchanges against a
# server that hangs, a refused port, a black-hole connect, a slow drip and a reset, and
# asserts the longest gap between ticks (the goal is <= 150 ms; the bound asserted is
# generous so a loaded CI machine does not fail it).

import sys

import test_transport_chaos as chaos

_MP = sys.implementation.name == "micropython"
HEARTBEAT_BOUND_MS = 300


def _run(coro):
    import asyncio

    return asyncio.run(coro)


async def _sleep_ms(ms):
    import asyncio

    if _MP:
        await asyncio.sleep_ms(ms)
    else:
        await asyncio.sleep(ms / 1000)


def test_keepalive_bodies_and_retry_after():
    if not chaos.url():
        return chaos.skip("aio keepalive")
    chaos.ctl("reset", "POST")
    chaos.ctl("queue/ok,ok_chunked,ok,s429_ra2,ok_100_continue", "POST")
    c = chaos.aio_client(2000)
    raw = bytes(range(256)) * 4

    async def main():
        try:
            assert await c.exchange("GET", "/i?id=1") == (200, None, chaos.ok_body(1))
            assert await c.exchange("GET", "i?id=2") == (200, None, chaos.ok_body(2))
            got = await c.exchange("POST", "/i", raw, "application/octet-stream")
            assert got == (200, None, b'{"result":"Success"}'), got
            assert await c.exchange("POST", "/i", b"id=4", "a/b") == (429, 2, b"{}")
            assert await c.exchange("GET", "/i?id=5") == (200, None, chaos.ok_body(5))
        finally:
            await c.aclose()

    _run(main())
    assert c.connections == 1 and c.exchanges == 5
    assert chaos.ctl("ids")["all"] == ["1", "2", "", "4", "5"]


def test_cancelled_exchange_closes_the_connection():
    # an exchange cut short by the caller (asyncio.wait_for) must not leave a half-read
    # response on the kept-alive connection: the next exchange gets its own answer
    if not chaos.url():
        return chaos.skip("aio cancel")
    import asyncio

    chaos.ctl("reset", "POST")
    chaos.ctl("force/ok", "POST")
    chaos.ctl("queue/ok,slow_drip", "POST")
    c = chaos.aio_client(5000)

    async def main():
        try:
            assert (await c.exchange("GET", "/i?id=1"))[0] == 200
            try:
                if _MP:
                    await asyncio.wait_for_ms(c.exchange("GET", "/i?id=2"), 300)
                else:
                    await asyncio.wait_for(c.exchange("GET", "/i?id=2"), 0.3)
                raise AssertionError("slow drip answered within 300 ms")
            except asyncio.TimeoutError:
                pass
            assert not c._open()
            assert await c.exchange("GET", "/i?id=3") == (200, None, chaos.ok_body(3))
        finally:
            await c.aclose()

    _run(main())
    assert c.connections == 2


def test_refused_and_timeout_are_oserrors():
    if not chaos.url():
        return chaos.skip("aio refused")
    import errno

    port = chaos.ctl("free_port")["port"]
    c = chaos.aio_client(1000, "http://127.0.0.1:%d" % port)
    try:
        _run(c.exchange("GET", "/i"))
        raise AssertionError("connected to a closed port")
    except OSError as e:
        assert e.args[0] == errno.ECONNREFUSED, e
    assert c.connections == 0
    chaos.ctl("reset", "POST")
    chaos.ctl("queue/hang", "POST")
    c = chaos.aio_client(300)
    t0 = chaos.now_ms()
    try:
        _run(c.exchange("GET", "/i"))
        raise AssertionError("a hanging server answered")
    except OSError as e:
        assert e.args[0] == errno.ETIMEDOUT, e
    assert 250 <= chaos.since(t0) <= 300 + chaos.SLACK_MS
    assert not c._open()


def test_heartbeat_keeps_beating_during_exchanges():
    if not chaos.url():
        return chaos.skip("aio heartbeat")
    urls = chaos.ctl("urls")
    refused = "http://127.0.0.1:%d" % chaos.ctl("free_port")["port"]
    cases = (("hang", chaos.url(), "hang"), ("refused", refused, None),
             ("black hole", urls["blackhole"], None), ("slow drip", chaos.url(), "slow_drip"),
             ("reset", chaos.url(), "rst"), ("ok", chaos.url(), "ok"))
    worst = {}

    async def beat(state):
        last = chaos.now_ms()
        while state["on"]:
            await _sleep_ms(100)
            gap = chaos.since(last)
            last = chaos.now_ms()
            if gap > state["max"]:
                state["max"] = gap

    async def one(u):
        import asyncio

        c = chaos.aio_client(700, u)
        state = {"on": True, "max": 0}
        t = asyncio.create_task(beat(state))
        await _sleep_ms(150)         # the ticker is running before the exchange starts
        try:
            await c.exchange("GET", "/i?id=1")
        except OSError:
            pass
        await _sleep_ms(150)
        state["on"] = False
        await t
        c.close()
        return state["max"]

    for label, u, mode in cases:
        chaos.ctl("reset", "POST")
        if mode:
            chaos.ctl("queue/" + mode, "POST")
        worst[label] = _run(one(u))
    print("heartbeat max gap ms (100 ms ticker): " +
          " ".join("%s=%d" % (k, worst[k]) for k, _, _ in cases))
    for label, gap in worst.items():
        assert gap <= HEARTBEAT_BOUND_MS, (label, gap)


def test_numeric_host_resolved_once():
    # getaddrinfo is the one blocking step: once per client, never again on reconnects
    if not chaos.url():
        return chaos.skip("aio dns")
    chaos.ctl("reset", "POST")
    chaos.ctl("queue/ok_no_length_close,ok_http10_close,ok", "POST")
    c = chaos.aio_client(2000)

    async def main():
        for i in range(3):
            assert (await c.exchange("GET", "/i?id=%d" % i))[0] == 200
        await c.aclose()

    calls = []
    if not _MP:
        import socket

        real = socket.getaddrinfo

        def counting(*a, **k):
            calls.append(a)
            return real(*a, **k)

        socket.getaddrinfo = counting
    try:
        _run(main())
    finally:
        if not _MP:
            socket.getaddrinfo = real
    assert c.connections == 3              # the server closed twice
    if not _MP:
        # one lookup for the client; asyncio itself resolves nothing for the numeric address
        assert len([a for a in calls if a[0] == "127.0.0.1"]) == 1, calls
