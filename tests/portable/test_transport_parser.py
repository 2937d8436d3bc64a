# test_transport_parser.py - countly_http_response.Response fed directly (no sockets), on
# CPython and MicroPython: what is one well-formed answer, what is not, and that the result
# does not depend on how the bytes are cut into reads (every case runs whole, in 7-byte reads
# and one byte at a time).

import sys

_MP = sys.implementation.name == "micropython"


def _parser():
    if not _MP:
        import os

        here = os.path.dirname(os.path.abspath(__file__))
        p = os.path.join(here, "..", "..", "ports", "common")
        if p not in sys.path:
            sys.path.append(p)
    import countly_http_response
    return countly_http_response.Response()


def parse(raw, cap=4096, method="GET", eof=False):
    """-> (status, retry_after, body, keep_alive, truncated, leftover bytes) for every way of
    cutting raw into reads (asserted equal), or raises ValueError."""
    results = []
    for step in (len(raw) or 1, 7, 1):
        r = _parser()
        r.reset(method, cap)
        buf = bytearray(raw)
        pos = 0
        left = b""
        while pos < len(buf) and not r.done:
            end = min(pos + step, len(buf))
            stop = r.feed(buf, pos, end)
            if r.done and not r.truncated:   # cut: the connection is closed, no leftover
                left = bytes(buf[stop:])
            pos = end
        if not r.done and eof:
            r.eof()
        assert r.done, "not complete: %r" % raw[:60]
        results.append((r.status, r.retry_after, r.body(), r.keep_alive, r.truncated, left))
    assert results[0] == results[1] == results[2], [x[:2] + (len(x[2]),) + x[3:5]
                                                    for x in results]
    return results[0]


def bad(raw, **kw):
    try:
        got = parse(raw, **kw)
    except ValueError:
        return
    raise AssertionError("accepted %r as %r" % (raw[:80], got))


OK = b'{"result":"Success"}'


def test_plain_answers():
    assert parse(b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n" + OK) == \
        (200, None, OK, True, False, b"")
    # bare LF, no reason phrase, mixed-case names, 204 without a body
    assert parse(b"HTTP/1.1 200\ncontent-LENGTH:  2 \n\n{}") == (200, None, b"{}", True, False,
                                                                 b"")
    assert parse(b"HTTP/1.1 204 No Content\r\n\r\n")[:3] == (204, None, b"")
    # HEAD: no body whatever the length says
    assert parse(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", method="HEAD")[2] == b""


def test_keep_alive_rules():
    assert parse(b"HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n")[3] \
        is False
    assert parse(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")[3] is False
    assert parse(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n")[3]
    # no length: the body ends with the close, and the connection with it
    assert parse(b"HTTP/1.1 200 OK\r\n\r\n" + OK, eof=True) == (200, None, OK, False, False, b"")


def test_retry_after():
    assert parse(b"HTTP/1.1 429 x\r\nRetry-After: 120\r\nContent-Length: 0\r\n\r\n")[1] == 120
    assert parse(b"HTTP/1.1 503 x\r\nRetry-After: Wed, 21 Oct 2099 07:28:00 GMT\r\n"
                 b"Content-Length: 0\r\n\r\n")[1] is None
    assert parse(b"HTTP/1.1 503 x\r\nRetry-After: -5\r\nContent-Length: 0\r\n\r\n")[1] is None


def test_chunked_with_extensions_and_trailers():
    raw = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5;name=v\r\n{\"res\r\nF \r\nult\":\"Success\"}\r\n0\r\nX-T: 1\r\n\r\n")
    assert parse(raw) == (200, None, OK, True, False, b"")


def test_interim_100_continue_then_answer():
    raw = (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\nX: y\r\n\r\n"
           b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}")
    assert parse(raw)[:3] == (201, None, b"{}")


def test_bytes_after_the_response_are_reported():
    assert parse(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\n")[5] == \
        b"HTTP/1.1 200 OK\r\n"


def test_long_ordinary_header_is_skipped_long_wanted_one_is_not():
    cookie = b"Set-Cookie: " + b"c" * 3000 + b"\r\n"
    assert parse(b"HTTP/1.1 200 OK\r\n" + cookie + b"Content-Length: 2\r\n\r\n{}")[2] == b"{}"
    bad(b"HTTP/1.1 200 OK\r\nContent-Length: " + b"0" * 600 + b"2\r\n\r\n{}")
    bad(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 9000 + b"\r\nContent-Length: 2\r\n\r\n{}")


def test_malformed_heads():
    for raw in (b"HTPP/9 200 OKAY\r\n\r\n", b"HTTP/2 200 OK\r\n\r\n", b"HTTP/1.1 20 OK\r\n\r\n",
                b"HTTP/1.1 2000 OK\r\n\r\n", b"HTTP/1.1 999 Weird\r\nContent-Length: 0\r\n\r\n",
                b"HTTP/1.1 099 x\r\n\r\n", b"HTTP/1.1 101 Switching\r\n\r\n",
                b"HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
                b"\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
                b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
                b"HTTP/1.1 200 OK\r\nBad Name: v\r\n\r\n",
                b"HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n",
                b"HTTP/1.1 200 OK\r\n" + b"X-H: v\r\n" * 65 + b"\r\n",
                b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" * 100):
        bad(raw, eof=True)


def test_bad_lengths_and_encodings():
    for raw in (b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n",
                b"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nabcde",
                b"HTTP/1.1 200 OK\r\nContent-Length: 5_0\r\n\r\n",
                b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\n{}",
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFF\r\n",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n",
                b"HTTP/1.1 100 Continue\r\nContent-Length: 2\r\n\r\n{}"):
        bad(raw, eof=True)
    # the same length twice is one length
    assert parse(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}")[2] \
        == b"{}"


def test_cut_short_by_the_close():
    for raw in (b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n{\"res",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"res",
                b"HTTP/1.1 200 OK\r\nContent-Le"):
        bad(raw, eof=True)


def test_body_cap():
    big = b"HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n" + b"x" * 10000
    assert parse(big, cap=100) == (200, None, b"x" * 100, False, True, b"")
    # exactly at the cap is whole, not truncated
    assert parse(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", cap=3)[2:5] == \
        (b"abc", True, False)
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
               (b"10\r\n" + b"y" * 16 + b"\r\n") * 4 + b"0\r\n\r\n")
    assert parse(chunked, cap=40)[2:5] == (b"y" * 40, False, True)
    assert parse(chunked, cap=64)[2:5] == (b"y" * 64, True, False)
    eof = b"HTTP/1.1 200 OK\r\n\r\n" + b"z" * 50
    assert parse(eof, cap=10)[2:5] == (b"z" * 10, False, True)
