# test_transport_tls.py - the TLS policy of both HTTP transports against a loopback https peer,
# on CPython and MicroPython: a certificate that cannot be verified (unknown CA, another host
# name) is a refused connection, and nothing (not the app key) reaches the server; the right
# CA given as ca_data (PEM text, PEM bytes, DER) delivers; tls_verify=False delivers and says
# insecure; without ca_data the runtime's own store is used (CPython: the system store;
# MicroPython: the system CA bundle file) or, where there is none, the transport refuses to
# be built (ValueError), never a silent downgrade.
#
# The peer is tests/support/hostile_server.py (https listener with a certificate for
# 127.0.0.1/localhost from the test CA in tests/support/tls, and one for another name).

import os
import sys
import time

import test_transport_chaos as chaos

_MP = sys.implementation.name == "micropython"
SECRET = "APPKEY_MUST_NOT_LEAK"


def _tls_file(name, mode="rb"):
    for p in sys.path:
        if p.endswith("tests/support"):
            try:
                with open(p + "/tls/" + name, mode) as f:
                    return f.read()
            except OSError:
                pass
    raise OSError("tests/support/tls/%s not found on sys.path" % name)


def _exchange(c, k):
    path = "/i?app_key=%s&id=%d" % (SECRET, k)
    if hasattr(c, "exchange") and c.__class__.__name__.startswith("Async"):
        import asyncio

        async def go():
            try:
                return await c.exchange("GET", path)
            finally:
                c.close()
        return asyncio.run(go())
    try:
        return c.exchange("GET", path)
    finally:
        c.close()


def _refused(c, k):
    # the exchange fails and the server's request handler saw nothing of it
    before = chaos.ctl("log")
    try:
        got = _exchange(c, k)
        raise AssertionError("unverifiable certificate accepted: %r" % (got,))
    except OSError:
        pass
    for _ in range(50):          # the server thread notes the failed handshake a bit later
        after = chaos.ctl("log")
        if after["tls_failed"] > before["tls_failed"]:
            break
        time.sleep(0.02)
    assert after["log"] == before["log"], "a request reached the server"
    assert after["tls_failed"] > before["tls_failed"]


def _clients(url, **kw):
    return (chaos.sync_client(3000, url, **kw), chaos.aio_client(3000, url, **kw))


def test_unknown_ca_refused():
    if not chaos.url():
        return chaos.skip("tls unknown ca")
    urls = chaos.ctl("urls")
    chaos.ctl("reset", "POST")
    chaos.ctl("force/ok", "POST")
    for ca in (_tls_file("other_ca.pem", "r"), _tls_file("other_ca.der")):
        for c in _clients(urls["https"], ca_data=ca):
            assert not c.insecure
            _refused(c, 1)


def test_right_ca_delivers_pem_and_der():
    if not chaos.url():
        return chaos.skip("tls right ca")
    urls = chaos.ctl("urls")
    chaos.ctl("reset", "POST")
    chaos.ctl("force/ok", "POST")
    k = 0
    pem = _tls_file("ca.pem", "r")
    for ca in (pem, pem.encode(), _tls_file("ca.der"), _tls_file("other_ca.pem", "r") + pem):
        for c in _clients(urls["https"], ca_data=ca):
            k += 1
            assert not c.insecure and c.verified
            assert _exchange(c, k) == (200, None, chaos.ok_body(k))
    assert chaos.ctl("ids")["all"] == [str(i) for i in range(1, k + 1)]
    # keep-alive over TLS, sync and asyncio
    c = chaos.sync_client(3000, urls["https"], ca_data=pem)
    try:
        for i in range(3):
            assert c.exchange("GET", "/i?id=%d" % i)[0] == 200
    finally:
        c.close()
    assert c.connections == 1
    a = chaos.aio_client(3000, urls["https"], ca_data=pem)

    async def three():
        try:
            for i in range(3):
                assert (await a.exchange("GET", "/i?id=%d" % i))[0] == 200
        finally:
            await a.aclose()
    import asyncio

    asyncio.run(three())
    assert a.connections == 1


def test_host_name_mismatch_refused():
    # a certificate from the right CA, but for another name
    if not chaos.url():
        return chaos.skip("tls host name")
    urls = chaos.ctl("urls")
    for c in _clients(urls["https_wrong_host"], ca_data=_tls_file("ca.der")):
        _refused(c, 1)


def test_tls_verify_false_delivers_and_says_insecure():
    if not chaos.url():
        return chaos.skip("tls insecure")
    urls = chaos.ctl("urls")
    chaos.ctl("reset", "POST")
    chaos.ctl("force/ok", "POST")
    for c in _clients(urls["https_wrong_host"], tls_verify=False):
        assert c.insecure and c.verified is False
        assert _exchange(c, 5) == (200, None, chaos.ok_body(5))
    for c in _clients(chaos.url(), tls_verify=False):
        assert not c.insecure          # plain http: nothing to verify, nothing insecure


def test_default_without_ca_data_never_downgrades():
    # CPython: the system store; MicroPython: the system CA bundle. Neither knows the test
    # CA, so the connection is refused; with no bundle at all the transport is not built.
    if not chaos.url():
        return chaos.skip("tls default")
    import countly_port
    import countly_tls

    urls = chaos.ctl("urls")
    p = countly_port.Platform()
    if _MP and countly_tls.find_bundle() is None:
        for make in (p.transport, p.async_transport):
            try:
                make(urls["https"], 3000)
                raise AssertionError("transport built with nothing to verify with")
            except ValueError:
                pass
        return
    for c in (p.transport(urls["https"], 3000), p.async_transport(urls["https"], 3000),
              p.transport(urls["https"], 3000, True, None)):
        assert not c.insecure
        _refused(c, 1)


def test_micropython_ca_bundle_file():
    # MicroPython without ca_data: a PEM bundle file (SSL_CERT_FILE, else a known system
    # path) is loaded certificate by certificate (this mbedTLS takes DER only); no bundle ->
    # ValueError at construction
    if not _MP:
        print("skip: CA bundle files are MicroPython's path (CPython uses its store)")
        return
    if not chaos.url():
        return chaos.skip("tls bundle")
    import countly_tls

    urls = chaos.ctl("urls")
    chaos.ctl("reset", "POST")
    chaos.ctl("force/ok", "POST")
    path = "/tmp/countly_test_bundle.pem"
    with open(path, "w") as f:
        f.write(_tls_file("other_ca.pem", "r") + "\n" + _tls_file("ca.pem", "r"))
    saved = countly_tls.CA_BUNDLES
    env = os.getenv("SSL_CERT_FILE")
    try:
        os.putenv("SSL_CERT_FILE", path)       # the standard override, read at construction
        assert countly_tls.find_bundle() == path
        for c in _clients(urls["https"]):
            assert _exchange(c, 9) == (200, None, chaos.ok_body(9))
        for c in _clients(urls["https_wrong_host"]):
            _refused(c, 10)
        os.putenv("SSL_CERT_FILE", "/nonexistent/ca.pem")
        countly_tls.CA_BUNDLES = ("/nonexistent/ca-bundle.crt",)
        for make in (chaos.sync_client, chaos.aio_client):
            try:
                make(3000, urls["https"])
                raise AssertionError("transport built with nothing to verify with")
            except ValueError:
                pass
    finally:
        countly_tls.CA_BUNDLES = saved
        if env is None:
            os.unsetenv("SSL_CERT_FILE")
        else:
            os.putenv("SSL_CERT_FILE", env)
        os.remove(path)


def test_stalled_handshake_bounded_by_the_deadline():
    # https to a peer that takes the connection but never speaks TLS (the plain listener
    # waits for a request head that never comes): the handshake is inside the deadline
    if not chaos.url():
        return chaos.skip("tls stall")
    stall = chaos.url().replace("http://", "https://")
    for c in _clients(stall, ca_data=_tls_file("ca.der")):
        c.timeout_ms = 500
        t0 = chaos.now_ms()
        try:
            _exchange(c, 1)
            raise AssertionError("handshake completed with a plain HTTP peer")
        except OSError:
            pass
        took = chaos.since(t0)
        assert took <= 500 + chaos.SLACK_MS, took
