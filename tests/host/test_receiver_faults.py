# test_receiver_faults.py - injected failures: the real server's transient 400s, answers of
# things that are not Countly (wrong URL, proxy, login, captive portal), and "stored but the
# answer was lost". A faulted request is logged but its data is not stored (except lost_answer).
import json
import socket

import pytest

SUCCESS = b'{"result":"Success"}'
DUPLICATE = b'{"result":"Success","info":"Request ignored: Duplicate request"}'
EVENT = ("/i?app_key=APPKEY&device_id=f&timestamp=1690000000000"
         "&events=%5B%7B%22key%22%3A%22a%22%7D%5D")


def nothing_stored(receiver):
    return (receiver.rows("devices") == [] and receiver.rows("events") == []
            and receiver.rows("sdk_requests") == [])


@pytest.mark.parametrize("mode,message", [
    ("400_ingest", "Could not ingest data"),
    ("400_app_user", "Cannot get app user"),
    ("400_update_user", "Cannot update user"),
    ("400_record_events", "Could not record events:MongoError: connection closed (simulated)"),
    ("400_uid", "Cannot create uid"),
])
def test_transient_400s_are_not_stored(client, receiver, mode, message):
    receiver.inject(mode, count=1)
    status, body = client.get(EVENT)
    assert (status, json.loads(body)) == (400, {"result": message})
    assert client.last.getheader("Content-Type") == "application/json; charset=utf-8"
    assert nothing_stored(receiver)
    [row] = receiver.rows("requests")
    assert (row["fault"], row["status"], json.loads(row["answer"])) == (
        mode, 400, {"result": message})
    # The retry is stored and, since nothing was stored before, is no duplicate.
    assert client.get(EVENT) == (200, SUCCESS)
    assert [e["key"] for e in receiver.rows("events")] == ["a"]


@pytest.mark.parametrize("mode,status", [("404", 404), ("405", 405), ("401", 401),
                                         ("403", 403)])
def test_not_countly_html_answers(client, receiver, mode, status):
    receiver.inject(mode, count=1)
    got, body = client.get(EVENT)
    assert got == status
    assert client.last.getheader("Content-Type").startswith("text/html")
    assert body.startswith(b"<html>") and b"<center>nginx</center>" in body
    assert client.last.getheader("Access-Control-Allow-Origin") is None
    if status == 401:
        assert client.last.getheader("WWW-Authenticate") == 'Basic realm="countly"'
    assert nothing_stored(receiver)


@pytest.mark.parametrize("mode", ["301", "302"])
def test_redirect_to_https(client, receiver, mode):
    receiver.inject(mode, count=1)
    status, body = client.get(EVENT)
    assert status == int(mode) and b"<html>" in body
    assert client.last.getheader("Location") == "https://127.0.0.1:%d%s" % (receiver.port, EVENT)
    assert nothing_stored(receiver)


def test_captive_portal_200_html(client, receiver):
    receiver.inject("portal", count=1)
    status, body = client.post("/i", "app_key=APPKEY&device_id=f")
    assert status == 200 and client.last.getheader("Content-Type").startswith("text/html")
    assert b"Guest Wi-Fi" in body and b"result" not in body
    assert nothing_stored(receiver)


def test_o_sdk_faulted_not_recorded(client, receiver):
    receiver.inject("400_app_user", count=1)
    assert client.get("/o/sdk?app_key=APPKEY&device_id=f&method=sc")[0] == 400
    assert nothing_stored(receiver)
    assert client.get("/o/sdk?app_key=APPKEY&device_id=f&method=sc")[0] == 200
    assert len(receiver.rows("sdk_requests")) == 1


def test_lost_answer_stores_then_resets(receiver):
    # The server stored the request but the answer never arrived: the client resends it and
    # the dedup check answers Duplicate, storing nothing twice.
    receiver.inject("lost_answer", count=1)
    s = socket.create_connection(("127.0.0.1", receiver.port), timeout=2)
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % EVENT).encode())
    try:
        got = s.recv(100)
    except ConnectionResetError:
        got = None
    s.close()
    assert got in (None, b"")
    assert [e["key"] for e in receiver.rows("events")] == ["a"]
    [row] = receiver.rows("requests")
    assert (row["fault"], row["status"]) == ("lost_answer", 200)
    from conftest import Client

    c = Client(receiver.port)
    assert c.get(EVENT) == (200, DUPLICATE)
    c.close()
    assert len(receiver.rows("events")) == 1


def test_fault_paths_and_control_api(client, receiver):
    ctl = "/_receiver/fault?token=" + receiver.token
    assert client.post(ctl, json.dumps({"mode": "404", "count": 2, "paths": ["/o/sdk"]}),
                       "application/json") == (200, SUCCESS)
    assert client.get(EVENT) == (200, SUCCESS)  # /i is not in the paths
    assert client.get("/o/sdk?app_key=APPKEY&device_id=f&method=rc")[0] == 404
    assert client.post(ctl, json.dumps({"mode": "nope"}), "application/json")[0] == 400
    assert client.post(ctl, json.dumps({"mode": "500", "fraction": 2}), "application/json")[0] \
        == 400
    info = client.json("/_receiver/info")
    assert "400_record_events" in info["fault_modes"] and "portal" in info["fault_modes"]


def test_sdk_transport_sees_transient_400_as_an_answer(receiver):
    # The SDK's own HTTP client gets the status and the body (the core decides to retry).
    from countly_http import HTTPClient

    receiver.inject("400_ingest", count=1)
    c = HTTPClient(receiver.url, 2000)
    try:
        status, _, body = c.exchange("GET", EVENT)
        assert (status, body) == (400, b'{"result":"Could not ingest data"}')
        status, _, body = c.exchange("GET", EVENT)
        assert (status, body) == (200, SUCCESS)
    finally:
        c.close()
