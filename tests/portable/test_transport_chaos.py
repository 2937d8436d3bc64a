# test_transport_chaos.py - every hostile server mode through the sync and the asyncio client,
# on CPython and MicroPython.
#
# The peer is tests/support/hostile_server.py (CPython starts it in-process; a MicroPython
# run gets its URL from COUNTLY_TEST_HOSTILE, else every test prints "skip"). For each mode:
# the result is the correct answer or an OSError, never another answer; the next exchange on
# the same client gets its own answer (every good answer echoes the request's id); no
# exchange outlives timeout + connect + a small slack; every answer the client took as
# "200 Success" was logged by the server as processed (nothing accepted and lost).

import sys
import time

_MP = sys.implementation.name == "micropython"
SLACK_MS = 500          # bound = timeout + connect (loopback: ~0) + this

ERR = "error"
OK = "ok"               # 200 {"result":"Success","id":"<own id>"}
EITHER = "ok_or_error"  # the server closed before answering: a kept-alive connection is
                        # resent once (then answered), a fresh one fails
TRUNC = "truncated"
EXPECT = {
    "ok": OK, "ok_http10_close": OK, "ok_no_length_close": OK, "ok_chunked": OK,
    "ok_100_continue": OK, "ok_late_smuggle": OK,
    "nonjson_200": (200, None, b"<html>ok<"),
    "checksum_reject": (200, None, b'{"result":"Request does not match checksum"}'),
    "s500": (500, None, b"{}"),
    "s429_ra2": (429, 2, b"{}"),
    "s503_ra_garbage": (503, None, b"{}"),
    "s302": (302, None, b""),
    "body_10mb": TRUNC,
    "bad_status_line": ERR, "giant_headers": ERR, "many_headers": ERR, "header_no_colon": ERR,
    "neg_content_length": ERR, "status_999": ERR, "binary_garbage": ERR,
    "chunked_garbage": ERR, "chunked_huge_size": ERR, "cl_short_hang": ERR,
    "cl_short_close": ERR, "cl_extra_bytes": ERR, "cl_extra_smuggle": ERR,
    "slow_drip": ERR, "slow_drip_09": ERR, "hang": ERR,
    "hang_then_close_09": EITHER, "rst": EITHER, "close_no_answer": EITHER,
    "close_mid_body": ERR,
}
# the modes that cost a whole timeout: the fresh-connection pass runs them with a shorter one
SLOW = ("cl_short_hang", "slow_drip", "slow_drip_09", "hang", "hang_then_close_09")


from chaoskit import _setup_paths, ctl, now_ms, since, skip, url  # noqa: E402,F401


def ok_body(k):
    return b'{"result":"Success","id":"%d"}' % k


def sync_client(timeout_ms, u=None, **kw):
    _setup_paths()
    import countly_http
    return countly_http.HTTPClient(u or url(), timeout_ms, **kw)


def aio_client(timeout_ms, u=None, **kw):
    _setup_paths()
    import countly_aio_http
    return countly_aio_http.AsyncHTTPClient(u or url(), timeout_ms, **kw)


def check(mode, k, got, truncated):
    """got: the exchange result or the OSError it raised."""
    want = EXPECT[mode]
    err = isinstance(got, OSError)
    if want == ERR:
        assert err, "%s: expected OSError, got %r" % (mode, got)
    elif want == EITHER:
        assert err or got == (200, None, ok_body(k)), "%s: wrong answer %r" % (mode, got)
    elif want == OK:
        assert got == (200, None, ok_body(k)), "%s: %r" % (mode, got)
    elif want == TRUNC:
        assert not err and got[0] == 200 and truncated, "%s: %r" % (mode, got)
        assert got[2] == b"x" * 4096, (mode, len(got[2]))
    else:
        assert got == want, "%s: %r" % (mode, got)
    return not err and got[0] == 200 and got[2] == ok_body(k)


class _Chaos:
    # the bookkeeping both the sync and the asyncio runs share
    def __init__(self, label):
        self.label = label
        self.k = 0
        self.delivered = []          # ids the client took as "200 Success" for itself
        self.worst = {}              # group -> (ms, mode)

    def next_id(self):
        self.k += 1
        return self.k

    def record(self, mode, k, got, truncated, ms, timeout_ms):
        if check(mode, k, got, truncated):
            self.delivered.append(k)
        assert ms <= timeout_ms + SLACK_MS, "%s %s: %d ms" % (self.label, mode, ms)
        group = "slow" if mode in SLOW else ("error" if EXPECT[mode] == ERR else "answer")
        if ms > self.worst.get(group, (-1, ""))[0]:
            self.worst[group] = (ms, mode)

    def follow_up(self, got, k):
        assert got == (200, None, ok_body(k)), "%s: next exchange got %r" % (self.label, got)
        self.delivered.append(k)

    def verify_log(self):
        processed = {}
        for i in ctl("ids")["processed"]:
            if i:
                processed[int(i)] = True
        lost = [k for k in self.delivered if k not in processed]
        assert not lost, "%s: acked but never processed: %r" % (self.label, lost)
        print("%s: max exchange ms per group %s" % (
            self.label, " ".join("%s=%d(%s)" % (g, v[0], v[1]) for g, v in
                                 sorted(self.worst.items()))))


def _modes():
    modes = sorted(ctl("modes"))
    missing = [m for m in modes if m not in EXPECT]
    assert not missing, "no expectation for modes %r" % missing
    return modes


def _steps(run, c, timeout_ms, fresh):
    # The chaos run as a generator: it yields the exchange() arguments and is sent back the
    # result or the OSError, so the sync and the asyncio runs share it.
    ctl("reset", "POST")
    ctl("force/ok", "POST")
    for mode in _modes():
        t = timeout_ms // 2 if fresh and mode in SLOW else timeout_ms
        c.timeout_ms = t
        if fresh:
            c.close()
        else:
            k = run.next_id()
            run.follow_up((yield ("GET", "/i?id=%d" % k)), k)     # kept alive now
        ctl("queue/" + mode, "POST")
        k = run.next_id()
        t0 = now_ms()
        got = yield ("GET", "/i?id=%d&rr=1" % k)
        run.record(mode, k, got, c.truncated, since(t0), t)
        if mode == "ok_late_smuggle":
            time.sleep(0.2)          # the stray answer is on the idle connection now
        k = run.next_id()
        c.timeout_ms = timeout_ms
        run.follow_up((yield ("POST", "/i", "id=%d&a=1" % k,
                              "application/x-www-form-urlencoded")), k)


def _chaos_sync(label, timeout_ms, fresh):
    run = _Chaos(label)
    c = sync_client(timeout_ms)
    steps = _steps(run, c, timeout_ms, fresh)
    try:
        args = next(steps)
        while True:
            try:
                got = c.exchange(*args)
            except OSError as e:
                got = e
            args = steps.send(got)
    except StopIteration:
        pass
    finally:
        c.close()
    run.verify_log()


def _chaos_aio(label, timeout_ms, fresh):
    import asyncio

    run = _Chaos(label)
    c = aio_client(timeout_ms)
    steps = _steps(run, c, timeout_ms, fresh)

    async def main():
        try:
            args = next(steps)
            while True:
                try:
                    got = await c.exchange(*args)
                except OSError as e:
                    got = e
                args = steps.send(got)
        except StopIteration:
            pass
        finally:
            await c.aclose()

    asyncio.run(main())
    run.verify_log()


# ---------------------------------------------------------------------------------------------

def test_chaos_sync_kept_alive():
    # every mode hits a connection that already carried an exchange (timeout 1 s)
    if not url():
        return skip("chaos sync")
    _chaos_sync("sync kept-alive", 1000, False)


def test_chaos_sync_fresh_connection():
    # every mode hits a new connection (the slow ones with 0.5 s)
    if not url():
        return skip("chaos sync fresh")
    _chaos_sync("sync fresh", 1000, True)


def test_chaos_async_kept_alive():
    if not url():
        return skip("chaos async")
    _chaos_aio("async kept-alive", 1000, False)


def test_chaos_async_fresh_connection():
    if not url():
        return skip("chaos async fresh")
    _chaos_aio("async fresh", 1000, True)


def test_smuggled_response_never_answers_the_next_request():
    # A response with a second "200 Success" behind its Content-Length, then the server
    # answers 500: the 500 is what the client must report for the second request.
    if not url():
        return skip("smuggle")
    ctl("reset", "POST")
    ctl("queue/cl_extra_smuggle,s500", "POST")
    c = sync_client(2000)
    try:
        try:
            first = c.exchange("GET", "/i?id=1")
        except OSError as e:
            first = e
        assert isinstance(first, OSError), first     # bytes beyond the response: no answer
        assert c.exchange("GET", "/i?id=2") == (500, None, b"{}")
    finally:
        c.close()


def test_stray_bytes_on_idle_connection_are_never_parsed():
    if not url():
        return skip("late smuggle")
    ctl("reset", "POST")
    ctl("queue/ok_late_smuggle,s500", "POST")
    c = sync_client(2000)
    try:
        assert c.exchange("GET", "/i?id=1") == (200, None, ok_body(1))
        time.sleep(0.2)              # the stray "200 Success" arrives on the idle connection
        assert c.exchange("GET", "/i?id=2") == (500, None, b"{}")
    finally:
        c.close()
    assert c.connections == 2        # the tainted connection was dropped, not read


def test_deadline_covers_slow_drip_and_resend():
    # one byte per 0.9 s must not stretch a 1 s exchange; nor may the resend after a
    # kept-alive connection died (the earlier client took 3 x timeout plus a reconnect)
    if not url():
        return skip("deadline")
    ctl("reset", "POST")
    ctl("queue/ok,close_no_answer,slow_drip_09", "POST")
    c = sync_client(1000)
    try:
        assert c.exchange("GET", "/i?id=1")[0] == 200
        t0 = now_ms()
        try:
            c.exchange("GET", "/i?id=2")
            raise AssertionError("answered")
        except OSError:
            pass
        took = since(t0)
    finally:
        c.close()
    assert took <= 1000 + SLACK_MS, took
    assert c.resends == 1
    ids = ctl("ids")["all"]
    assert ids == ["1", "2", "2"], ids    # resent once, never twice


def test_resend_happens_once():
    if not url():
        return skip("resend once")
    ctl("reset", "POST")
    ctl("queue/ok,close_no_answer,close_no_answer,ok", "POST")
    c = sync_client(1000)
    try:
        assert c.exchange("GET", "/i?id=1")[0] == 200
        try:
            c.exchange("GET", "/i?id=2")
            raise AssertionError("answered")
        except OSError:
            pass
        assert c.exchange("GET", "/i?id=3") == (200, None, ok_body(3))
    finally:
        c.close()
    assert ctl("ids")["all"] == ["1", "2", "2", "3"]


def test_connect_timeout_bounded():
    if not url():
        return skip("connect timeout")
    hole = ctl("urls")["blackhole"]
    for make in (sync_client, aio_client):
        c = make(500, hole)
        t0 = now_ms()
        try:
            if make is sync_client:
                c.exchange("GET", "/i")
            else:
                import asyncio
                asyncio.run(c.exchange("GET", "/i"))
            raise AssertionError("connected to the black hole")
        except OSError:
            pass
        took = since(t0)
        assert 400 <= took <= 500 + SLACK_MS, took
        assert c.connections == 0


def test_body_cap_default_and_per_call():
    if not url():
        return skip("body cap")
    ctl("reset", "POST")
    ctl("queue/body_10mb,body_10mb,ok", "POST")
    c = sync_client(2000)
    try:
        t0 = now_ms()
        st, _, body = c.exchange("GET", "/i?id=1")
        assert st == 200 and c.truncated and len(body) == 4096
        st, _, body = c.exchange("GET", "/i?id=2", max_body=100)
        assert st == 200 and c.truncated and body == b"x" * 100
        assert since(t0) < 1500       # neither 10 MB read nor a wait for it
        assert c.exchange("GET", "/i?id=3") == (200, None, ok_body(3))
        assert not c.truncated
    finally:
        c.close()
