# test_receiver_security.py - the receiver on a developer's machine: control calls need JSON and
# the token, its own paths are not readable cross-origin, bodies, time and connections bounded.
import http.client
import json
import os
import re
import selectors
import socket
import subprocess
import sys
import time

import pytest
from conftest import TOOLS, Client

SUCCESS = b'{"result":"Success"}'


def ctl(client, receiver, name, obj, ctype="application/json", token=True):
    path = "/_receiver/" + name + ("?token=" + receiver.token if token else "")
    return client.post(path, json.dumps(obj), ctype)


def test_control_needs_json_content_type(client, receiver):
    # A browser form can send text/plain or form-encoded without a preflight: refused, even
    # with the right token, and nothing changes.
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        status, body = ctl(client, receiver, "fault", {"mode": "500"}, ctype=ctype)
        assert (status, body) == (415, b'{"result":"Content-Type must be application/json"}')
        assert client.last.getheader("Access-Control-Allow-Origin") is None
    assert ctl(client, receiver, "reset", {}, ctype="text/plain")[0] == 415
    assert client.get("/i?app_key=APPKEY&device_id=d") == (200, SUCCESS)  # no fault injected


def test_control_needs_the_token(client, receiver):
    client.get("/i?app_key=APPKEY&device_id=keep")
    refused = (403, b'{"result":"Missing or wrong receiver token"}')
    assert ctl(client, receiver, "reset", {}, token=False) == refused
    assert client.post("/_receiver/reset?token=wrong", "{}", "application/json") == refused
    assert client.request("POST", "/_receiver/app", body=b'{"key":"X"}', headers={
        "Content-Type": "application/json", "X-Receiver-Token": "nope"}) == refused
    assert len(receiver.rows("devices")) == 1 and "X" not in receiver.apps()
    # Header or query parameter, either works.
    assert client.request("POST", "/_receiver/app", body=b'{"key":"X"}', headers={
        "Content-Type": "application/json; charset=utf-8",
        "X-Receiver-Token": receiver.token}) == (200, SUCCESS)
    assert "X" in receiver.apps()
    assert ctl(client, receiver, "reset", {}) == (200, SUCCESS)
    assert receiver.rows("devices") == []


def test_no_wildcard_cors_on_receiver_paths(client, receiver):
    for path in ("/", "/_receiver/events", "/_receiver/stats", "/_receiver/info",
                 "/_receiver/nope"):
        status, _ = client.get(path)
        assert status in (200, 404), path
        assert client.last.getheader("Access-Control-Allow-Origin") is None, path
        assert client.last.getheader("Cache-Control") == "no-store", path
    assert ctl(client, receiver, "reset", {}) == (200, SUCCESS)
    assert client.last.getheader("Access-Control-Allow-Origin") is None
    # Every preflight to the receiver's own paths is refused, without CORS headers.
    for path in ("/_receiver/reset", "/_receiver/events", "/"):
        status, _ = client.request("OPTIONS", path, headers={
            "Origin": "http://evil.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-receiver-token"})
        assert status == 403 and client.last.getheader("Access-Control-Allow-Origin") is None
    # Countly paths keep the real server's header: browser SDKs on other origins need it.
    client.get("/o/ping")
    assert client.last.getheader("Access-Control-Allow-Origin") == "*"
    client.request("OPTIONS", "/i")
    assert client.last.getheader("Access-Control-Allow-Origin") == "*"


def test_cross_origin_and_rebinding_refused(client, receiver):
    host = "127.0.0.1:%d" % receiver.port
    cross = {"Origin": "http://evil.example"}
    assert client.get("/_receiver/events", headers=cross)[0] == 403
    assert client.get("/_receiver/events", headers={"Origin": "http://" + host})[0] == 200
    fetch = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors",
             "Sec-Fetch-Dest": "script"}
    assert client.get("/_receiver/events", headers=fetch)[0] == 403
    assert client.get("/", headers=fetch)[0] == 403
    # A plain navigation (a link the developer clicks) may open the page.
    nav = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate",
           "Sec-Fetch-Dest": "document"}
    assert client.get("/", headers=nav)[0] == 200
    assert client.get("/_receiver/events", headers=nav)[0] == 403
    # DNS rebinding: a name that now points here arrives with its own Host header.
    for h in ("evil.example:%d" % receiver.port, "evil.example"):
        assert client.get("/_receiver/events", headers={"Host": h})[0] == 403
        assert client.get("/", headers={"Host": h})[0] == 403
    for h in ("localhost:1", "127.0.0.1", "[::1]:8080", "192.168.1.20:8080"):
        assert client.get("/_receiver/stats", headers={"Host": h})[0] == 200, h
    # Countly paths answer whatever the Host, as a server behind a proxy does.
    assert client.get("/o/ping", headers={"Host": "countly.example"}) == (200, SUCCESS)


def test_body_at_limit_accepted_one_byte_over_refused(receiver):
    limit = receiver.limits.max_body
    prefix = b"app_key=APPKEY&device_id=edge&junk="
    c = Client(receiver.port)
    assert c.post("/i", prefix + b"a" * (limit - len(prefix))) == (200, SUCCESS)
    assert c.post("/i", prefix + b"a" * (limit - len(prefix) + 1))[0] == 413
    c.close()
    big = receiver.rows("requests", device_id="edge")[0]
    assert big["body_size"] == limit and len(big["body"]) < 70 * 1024


def _rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1))


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc to read RSS")
def test_sixty_1mib_posts_do_not_grow_memory():
    # The receiver as a developer runs it (the command line), fed 60 bodies of 1 MiB: its RSS
    # must not grow with them, and the stored copies are capped.
    proc = subprocess.Popen([sys.executable, os.path.join(TOOLS, "receiver.py"), "--port", "0",
                             "--app", "APPKEY"], stdout=subprocess.PIPE, text=True)
    try:
        port = int(re.search(r":(\d+) ", proc.stdout.readline()).group(1))
        c = Client(port)
        c.conn.timeout = 30
        body = b"app_key=APPKEY&device_id=big&timestamp=%d&junk="
        sizes = []
        for n in range(60):
            b = body % (1690000000000 + n)
            assert c.post("/i", b + b"x" * (1024 * 1024 - len(b))) == (200, SUCCESS)
            if n in (9, 59):
                sizes.append(_rss_kb(proc.pid))
        rows = json.loads(c.get("/_receiver/requests?device_id=big")[1])
        c.close()
        # Unbounded storage would add about 100 MiB (body + params) over the last 50 posts.
        assert sizes[1] - sizes[0] < 20 * 1024, sizes
        assert len(rows) == 60 and all(r["body_size"] == 1024 * 1024 for r in rows)
        assert max(len(r["body"]) for r in rows) < 70 * 1024
        assert max(len(json.dumps(r["params"])) for r in rows) < 70 * 1024
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()


def _closed(sock):
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def test_300_trickling_connections_cut_off_in_bounded_time(clock):
    from countly_receiver import Receiver

    r = Receiver(apps={"APPKEY": None}, clock=clock,
                 limits={"request_s": 1.0, "idle_s": 5.0, "max_connections": 64}).start()
    req = b"GET /i?app_key=APPKEY&device_id=slow HTTP/1.1\r\nHost: x\r\n\r\n"
    sel = selectors.DefaultSelector()
    socks = []
    try:
        t0 = time.monotonic()
        for _ in range(300):
            s = socket.create_connection(("127.0.0.1", r.port), timeout=5)
            s.setblocking(False)
            socks.append(s)
            sel.register(s, selectors.EVENT_READ)
        alive, i = set(socks), 0

        def drop(sock):
            alive.discard(sock)
            sel.unregister(sock)

        while alive and time.monotonic() - t0 < 10:
            tick = time.monotonic() + 0.05  # one byte per connection every 50 ms
            for s in list(alive):
                try:
                    s.send(req[i % len(req):i % len(req) + 1])
                except OSError:
                    drop(s)
            while alive and time.monotonic() < tick:
                for key, _ in sel.select(timeout=max(0, tick - time.monotonic())):
                    if _closed(key.fileobj):
                        drop(key.fileobj)
            i += 1
        elapsed = time.monotonic() - t0
        assert not alive, "%d connections still open after %.1f s" % (len(alive), elapsed)
        assert elapsed < 5, elapsed
        info = r.info()["counters"]
        assert info["refused_connections"] + info["timed_out"] >= 300
        assert info["timed_out"] >= 1 and info["refused_connections"] >= 1
        assert r.rows("requests") == []  # no trickled request was ever served
        c = Client(r.port)
        assert c.get("/i?app_key=APPKEY&device_id=after") == (200, SUCCESS)
        c.close()
    finally:
        for s in socks:
            s.close()
        r.stop()


def test_one_trickler_cut_by_the_total_deadline_not_the_idle_timeout(clock):
    from countly_receiver import Receiver

    r = Receiver(apps={"APPKEY": None}, clock=clock,
                 limits={"request_s": 1.0, "idle_s": 0.3}).start()
    s = socket.create_connection(("127.0.0.1", r.port), timeout=5)
    try:
        t0 = time.monotonic()
        req = b"POST /i HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"a" * 1000
        cut = None
        for b in req:  # a byte every 50 ms: never idle for 0.3 s
            try:
                s.send(bytes([b]))
            except OSError:
                cut = time.monotonic() - t0
                break
            time.sleep(0.05)
            s.setblocking(False)
            if _closed(s):
                cut = time.monotonic() - t0
                break
            s.setblocking(True)
        assert cut is not None and 0.9 <= cut < 2.0, cut
        assert r.info()["counters"]["timed_out"] == 1
    finally:
        s.close()
        r.stop()


def test_idle_keep_alive_connection_closed(clock):
    from countly_receiver import Receiver

    r = Receiver(apps={"APPKEY": None}, clock=clock, limits={"idle_s": 0.3}).start()
    try:
        s = socket.create_connection(("127.0.0.1", r.port), timeout=3)
        t0 = time.monotonic()
        assert s.recv(10) == b"" and 0.25 < time.monotonic() - t0 < 1.5
        s.close()
        assert r.info()["counters"]["idle_closed"] == 1
    finally:
        r.stop()


def test_connection_lifetime_bounded(clock):
    from countly_receiver import Receiver

    r = Receiver(apps={"APPKEY": None}, clock=clock, limits={"connection_s": 0.5}).start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", r.port, timeout=3)
        conn.request("GET", "/o/ping")
        resp = conn.getresponse()
        assert resp.read() == SUCCESS and resp.getheader("Connection") is None
        time.sleep(0.6)  # past connection_s: the next answer ends the connection
        conn.request("GET", "/o/ping")
        resp = conn.getresponse()
        assert resp.read() == SUCCESS and resp.getheader("Connection") == "close"
        conn.close()
        assert r.stats()["connections"] == 1
    finally:
        r.stop()


def test_connections_beyond_the_limit_get_503(clock):
    from countly_receiver import Receiver

    r = Receiver(apps={"APPKEY": None}, clock=clock, limits={"max_connections": 2}).start()
    held = [Client(r.port) for _ in range(2)]
    try:
        for c in held:
            assert c.get("/o/ping") == (200, SUCCESS)
        extra = Client(r.port)
        assert extra.get("/o/ping") == (503, b'{"result":"Too many connections to the receiver"}')
        extra.close()
        held.pop().close()
        deadline = time.monotonic() + 3
        while True:  # the slot frees when the server notices the close
            c = Client(r.port)
            try:
                if c.get("/o/ping")[0] == 200:
                    break
            finally:
                c.close()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert r.info()["counters"]["refused_connections"] >= 1
    finally:
        for c in held:
            c.close()
        r.stop()
