# test_receiver_http.py - receiver transport: routing, keep-alive, bad input, faults, read API
import http.client
import json
import re
import socket
import threading
import time

from conftest import Client

SUCCESS = b'{"result":"Success"}'
INVALID_PATH = b'{"result":"Invalid path"}'


def raw_exchange(port, data, read_timeout=2.0):
    # Sends raw bytes and returns everything the server sends before closing (or timing out).
    s = socket.create_connection(("127.0.0.1", port), timeout=read_timeout)
    try:
        s.sendall(data)
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)
    finally:
        s.close()


def test_answer_headers_are_countly_like(client):
    status, body = client.get("/o/ping")
    assert (status, body) == (200, SUCCESS)
    h = client.last
    assert h.getheader("Content-Type") == "application/json; charset=utf-8"
    assert h.getheader("Access-Control-Allow-Origin") == "*"
    assert h.getheader("Content-Length") == str(len(SUCCESS))


def test_exact_paths(client):
    for path in ("/i/", "/o/sdk/", "/x", "/i/bulkx", "/o", "/o/surveys/foo/widget", "/I"):
        assert client.get(path) == (400, INVALID_PATH), path
    assert client.get("/i?app_key=APPKEY&device_id=d") == (200, SUCCESS)


def test_methods(client, receiver):
    assert client.request("PUT", "/i", body=b"x") == (405, b'{"result":"Method not allowed"}')
    assert client.request("DELETE", "/o/ping") == (405, b'{"result":"Method not allowed"}')
    status, body = client.request("OPTIONS", "/i")
    assert (status, body) == (200, b"")
    assert client.last.getheader("Access-Control-Allow-Origin") == "*"
    assert "POST" in client.last.getheader("Access-Control-Allow-Methods")
    assert client.post("/i", "app_key=APPKEY&device_id=p") == (200, SUCCESS)
    assert receiver.stats()["connections"] == 1


def test_keep_alive_many_requests_one_connection(receiver):
    conn = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=5)
    for n in range(25):
        conn.request("GET", "/i?app_key=APPKEY&device_id=k&timestamp=%d" % (1690000000000 + n))
        resp = conn.getresponse()
        assert (resp.status, resp.read()) == (200, SUCCESS)
        conn.request("POST", "/i", body="app_key=APPKEY&device_id=k&rr=%d" % n,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        resp = conn.getresponse()
        assert resp.status == 200 and resp.read()
    conn.close()
    assert receiver.stats() == {"connections": 1, "requests": 50}


def test_connection_count_per_tcp_connection(receiver):
    for _ in range(3):
        c = Client(receiver.port)
        c.get("/o/ping")
        c.close()
    assert receiver.stats()["connections"] == 3


def test_huge_body_413_and_connection_closed(receiver):
    head = (b"POST /i HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\n\r\n" % (2 * 1024 * 1024))
    out = raw_exchange(receiver.port, head + b"a" * 1000)
    assert out.startswith(b"HTTP/1.1 413 ")
    assert out.endswith(b'{"result":"Request entity too large"}')
    assert receiver.rows("requests")[0]["status"] == 413


def test_bad_content_length(receiver):
    req = b"POST /i HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"
    out = raw_exchange(receiver.port, req)
    assert out.startswith(b"HTTP/1.1 400 ")
    assert out.endswith(b'{"result":"Invalid Content-Length"}')


def test_binary_garbage_and_bad_request_line(receiver):
    out = raw_exchange(receiver.port, bytes(range(256)) * 4 + b"\r\n\r\n")
    assert out.startswith(b"HTTP/1.") or out == b""
    body = bytes(range(256)) * 10
    head = b"POST /i?app_key=APPKEY&device_id=g HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
    out = raw_exchange(receiver.port, head % len(body) + body, read_timeout=0.5)
    assert out.startswith(b"HTTP/1.1 200 ") and out.endswith(SUCCESS)
    c = Client(receiver.port)
    assert c.get("/o/ping") == (200, SUCCESS)  # still alive
    c.close()


def test_client_disconnect_mid_body(receiver):
    s = socket.create_connection(("127.0.0.1", receiver.port))
    s.sendall(b"POST /i HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\napp_key=")
    s.close()
    c = Client(receiver.port)
    assert c.get("/o/ping") == (200, SUCCESS)
    c.close()


def test_malformed_json_params_tolerated(client, receiver):
    for p in ("metrics=%7Bbad", "crash=%5B", "user_details=x", "consent=1", "apm=%7B",
              "hc=nope", "events=null", "location=a,b,c"):
        assert client.get("/i?app_key=APPKEY&device_id=m&%s&timestamp=%d"
                          % (p, len(p))) == (200, SUCCESS), p
    assert client.post("/i", b"{not json", "application/json") == (
        400, b'{"result":"Missing parameter \\"app_key\\" or \\"device_id\\""}')
    assert client.post("/i?app_key=APPKEY&device_id=j", b"[1,2]", "application/json") == (
        200, SUCCESS)


def test_chunked_body(receiver):
    body = b"app_key=APPKEY&device_id=chunky"
    req = (b"POST /i HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
           b"Content-Type: application/x-www-form-urlencoded\r\n\r\n%x\r\n%s\r\n0\r\n\r\n"
           % (len(body), body))
    assert raw_exchange(receiver.port, req).endswith(SUCCESS)
    assert receiver.rows("devices")[0]["device_id"] == "chunky"


# -- faults ---------------------------------------------------------------------------------------

def test_fault_500_count(client, receiver):
    receiver.inject("500", count=2)
    for _ in range(2):
        assert client.get("/i?app_key=APPKEY&device_id=f") == (
            500, b'{"result":"Internal error (simulated)"}')
    assert client.get("/o/ping") == (200, SUCCESS)  # not a faulted path, not counted
    assert client.get("/i?app_key=APPKEY&device_id=f") == (200, SUCCESS)
    assert [r["fault"] for r in receiver.rows("requests")] == ["500", "500", None, None]
    assert len(receiver.rows("devices")) == 1


def test_fault_429_retry_after_and_nonjson(client, receiver):
    receiver.inject("429", count=1, retry_after=7)
    assert client.get("/o/sdk?app_key=APPKEY&device_id=f&method=sc") == (
        429, b'{"result":"Too many requests (simulated)"}')
    assert client.last.getheader("Retry-After") == "7"
    receiver.inject("nonjson", count=1)
    assert client.post("/i/bulk", "requests=[]") == (200, b"<html>ok</html>")
    assert client.get("/i/bulk?requests=[]") == (200, SUCCESS)


def test_fault_fraction_seeded(receiver):
    def run():
        receiver.reset()
        receiver.inject("500", fraction=0.5, seed=42)
        c = Client(receiver.port)
        got = [c.get("/i?app_key=APPKEY&device_id=f&timestamp=%d" % n)[0] for n in range(20)]
        c.close()
        return got

    first = run()
    assert first == run()
    assert 3 < first.count(500) < 17
    receiver.inject(None)
    c = Client(receiver.port)
    assert c.get("/i?app_key=APPKEY&device_id=f")[0] == 200
    c.close()


def test_fault_hang_closes_without_answer(receiver):
    receiver.inject("hang", count=1, hang_s=0.2)
    t0 = time.monotonic()
    req = b"GET /i?app_key=APPKEY&device_id=h HTTP/1.1\r\nHost: x\r\n\r\n"
    out = raw_exchange(receiver.port, req)
    assert out == b"" and time.monotonic() - t0 >= 0.2
    assert receiver.rows("requests")[0]["status"] is None


def test_fault_hang_interrupted_by_stop(clock):
    from countly_receiver import Receiver

    r = Receiver(apps={"APPKEY": None}, clock=clock).start()
    r.inject("hang", hang_s=30)
    s = socket.create_connection(("127.0.0.1", r.port), timeout=5)
    s.sendall(b"GET /i?app_key=APPKEY&device_id=h HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.1)
    t0 = time.monotonic()
    r.stop()
    assert time.monotonic() - t0 < 3
    s.close()


def test_fault_reset_sends_rst(receiver):
    receiver.inject("reset", count=1)
    s = socket.create_connection(("127.0.0.1", receiver.port), timeout=2)
    s.sendall(b"GET /i?app_key=APPKEY&device_id=r HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        data = s.recv(100)
        reset = False
    except ConnectionResetError:
        reset, data = True, b""
    s.close()
    assert reset and data == b""
    c = Client(receiver.port)
    assert c.get("/i?app_key=APPKEY&device_id=r") == (200, SUCCESS)
    c.close()


def test_inject_rejects_unknown_mode(receiver):
    try:
        receiver.inject("boom")
    except ValueError:
        return
    raise AssertionError("expected ValueError")


# -- control / read API ---------------------------------------------------------------------------

def test_http_read_and_control_api(client, receiver):
    client.get("/i?app_key=APPKEY&device_id=d1&events=%5B%7B%22key%22%3A%22a%22%7D%5D")
    client.get("/i?app_key=APPKEY&device_id=d2&events=%5B%7B%22key%22%3A%22b%22%7D%5D")
    rows = client.json("/_receiver/events?device_id=d2")
    assert [r["key"] for r in rows] == ["b"]
    assert client.json("/_receiver/events?key=a&count=1")[0]["device_id"] == "d1"
    assert client.json("/_receiver/stats") == receiver.stats()
    assert client.get("/_receiver/nope")[0] == 404
    assert client.get("/_receiver/events?bogus=1")[0] == 400

    fault = "/_receiver/fault?token=" + receiver.token  # control calls carry the token
    app = "/_receiver/app?token=" + receiver.token
    assert client.post(fault, json.dumps({"mode": "500", "count": 1}),
                       "application/json") == (200, SUCCESS)
    assert client.get("/i?app_key=APPKEY&device_id=d3")[0] == 500
    assert client.post(fault, "{bad", "application/json")[0] == 400

    assert client.post(app, json.dumps({"key": "NEW", "salt": None}),
                       "application/json") == (200, SUCCESS)
    assert client.get("/i?app_key=NEW&device_id=n") == (200, SUCCESS)
    client.post(app, json.dumps({"key": "NEW", "paused": True}), "application/json")
    assert client.get("/i?app_key=NEW&device_id=n")[0] == 400

    assert client.post("/_receiver/reset?token=" + receiver.token, "{}",
                       "application/json") == (200, SUCCESS)
    assert client.json("/_receiver/devices") == []
    assert client.json("/_receiver/requests") == []


def test_html_page_escapes_values(client):
    client.get("/i?app_key=APPKEY&device_id=%3Cscript%3Ex%3C%2Fscript%3E&events="
               "%5B%7B%22key%22%3A%22%3Cb%3Ehi%22%7D%5D")
    status, body = client.get("/")
    assert status == 200 and client.last.getheader("Content-Type").startswith("text/html")
    assert b"<script>" not in body and b"&lt;script&gt;x&lt;/script&gt;" in body
    assert b"&lt;b&gt;hi" in body and b"http-equiv='refresh'" in body


def test_requests_table_records_raw(client, receiver):
    client.post("/i?rr=1", "app_key=APPKEY&device_id=raw&x=%20y")
    [r] = receiver.rows("requests")
    assert (r["method"], r["path"], r["query"], r["body"]) == (
        "POST", "/i", "rr=1", "app_key=APPKEY&device_id=raw&x=%20y")
    assert r["params"] == {"rr": "1", "app_key": "APPKEY", "device_id": "raw", "x": " y"}
    assert (r["status"], r["answer"], r["device_id"]) == (200, SUCCESS.decode(), "raw")
    assert r["content_type"] == "application/x-www-form-urlencoded"


def test_concurrent_clients(receiver):
    errors = []

    def worker(n):
        try:
            c = Client(receiver.port)
            for k in range(10):
                st, _ = c.get("/i?app_key=APPKEY&device_id=w%d&events=%%5B%%7B%%22key%%22%%3A"
                              "%%22e%d%%22%%7D%%5D" % (n, k))
                assert st == 200
            c.close()
        except Exception as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(receiver.rows("events")) == 80
    assert receiver.stats()["connections"] == 8


# -- what the official Node SDK (countly-sdk-nodejs 24.10.4) sends, captured ----------------------

NODE_GET_1 = (
    "/i?begin_session=1&metrics=%7B%22_app_version%22%3A%221.2.3%22%2C%22_os%22%3A%22Linux%22%2C"
    "%22_os_version%22%3A%226.18.44-fc-v669%22%7D&app_key=YOUR_APP_KEY&device_id=dev-1&sdk_name="
    "javascript_native_nodejs&sdk_version=24.10.4&t=0&timestamp=1795356481860&hour=14&dow=0&tz=0"
    "&checksum256=29fabce2c51e65ffd5593a3b6e12232f1c16028c7f36887ac9a5ca2e9532b628")
NODE_GET_7 = ("/i?app_key=YOUR_APP_KEY&device_id=dev-1&location=41.0082%2C28.9784&checksum256="
              "877b02956158e01bcf677306839bbcebf102ff682d59f136477fe5445fa0e3e7")
NODE_POST_B3 = (
    "begin_session=1&metrics=%7B%22_app_version%22%3A%220.0%22%2C%22_os%22%3A%22Linux%22%2C%22"
    "_os_version%22%3A%226.18.44-fc-v669%22%7D&app_key=YOUR_APP_KEY&device_id=dev-1&sdk_name="
    "javascript_native_nodejs&sdk_version=24.10.4&t=0&timestamp=1795356526309&hour=14&dow=0&tz=0"
    "&checksum256=fcfd07c498d45e5d57b3bce0d99c12fba504665bace051eb357ce47b1ee9d52c")


def test_node_sdk_capture_accepted(client, receiver, clock):
    receiver.set_app("YOUR_APP_KEY", salt="s3cret")
    clock.ms = 1795356481860 + 10  # the capture's own time, so nothing is clamped
    assert client.get(NODE_GET_1) == (200, SUCCESS)
    assert client.get(NODE_GET_7) == (200, SUCCESS)
    clock.ms = 1795356526309 + 10
    assert client.post("/i", NODE_POST_B3) == (200, SUCCESS)
    assert client.post("/i", NODE_POST_B3) == (
        200, b'{"result":"Success","info":"Request ignored: Duplicate request"}')
    d = receiver.rows("devices", device_id="dev-1")[0]
    assert d["sdk_name"] == "javascript_native_nodejs" and (d["lat"], d["lon"]) == (
        41.0082, 28.9784)
    assert [s["begin_ms"] for s in receiver.rows("sessions")] == [1795356481860, 1795356526309]
    # Tampering with one character of the capture is caught.
    assert client.get(re.sub("dev-1", "dev-9", NODE_GET_1)) == (
        200, b'{"result":"Request does not match checksum"}')


def test_cli_parse_app():
    from countly_receiver import _parse_app

    assert _parse_app("KEY") == ("KEY", None)
    assert _parse_app("KEY:s3:cr") == ("KEY", "s3:cr")


def test_constructor_forms_and_context_manager(clock):
    from countly_receiver import Receiver

    apps = {"A": {"salt": "x", "paused": False}, "B": {"paused": True}, "C": None}
    with Receiver(apps=apps, clock=clock, fixtures={"remote_config": {"k": 1}}) as r:
        c = Client(r.port)
        assert c.get("/i?app_key=A&device_id=d") == (
            200, b'{"result":"Request does not have checksum"}')
        assert c.get("/i?app_key=B&device_id=d")[0] == 400
        assert c.get("/o/sdk?app_key=C&device_id=d&method=rc") == (200, b'{"k":1}')
        c.close()
        assert r.url == "http://127.0.0.1:%d" % r.port
    for bad in (("nope",), ("events",)):
        try:
            r.rows(*bad, **({"bogus": 1} if bad == ("events",) else {}))
        except ValueError:
            continue
        raise AssertionError("expected ValueError for %r" % (bad,))
