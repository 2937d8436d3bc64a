# conftest.py - shared fixtures for host tests (receiver in-process on an ephemeral port)
import http.client
import json
import os
import sys

import pytest

TOOLS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "tools")
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)

# 2023-11-14T22:13:20Z: a fixed "now" so clamp and cooldown tests never read the wall clock.
FAKE_NOW_MS = 1700000000000


class FakeClock:
    def __init__(self, ms=FAKE_NOW_MS):
        self.ms = ms

    def __call__(self):
        return self.ms

    def advance(self, ms):
        self.ms += ms


class Client:
    # One keep-alive http.client connection to the receiver; returns (status, body bytes).
    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        self.last = None

    def request(self, method, url, body=None, headers=None):
        self.conn.request(method, url, body=body, headers=headers or {})
        self.last = self.conn.getresponse()
        return self.last.status, self.last.read()

    def get(self, url, **kw):
        return self.request("GET", url, **kw)

    def post(self, url, body, ctype="application/x-www-form-urlencoded"):
        if isinstance(body, str):
            body = body.encode("utf-8")
        return self.request("POST", url, body=body, headers={"Content-Type": ctype})

    def json(self, url):
        status, body = self.get(url)
        assert status == 200
        return json.loads(body)

    def close(self):
        self.conn.close()


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def receiver(clock):
    from countly_receiver import Receiver

    r = Receiver(apps={"APPKEY": None, "SALTED": "s3cr3t"}, clock=clock,
                 fixtures=os.path.join(TOOLS, "receiver_fixtures.example.json"))
    r.start(host="127.0.0.1", port=0)
    yield r
    r.stop()


@pytest.fixture
def client(receiver):
    c = Client(receiver.port)
    yield c
    c.close()
