# fakes.py - a fake port for tests: a hand-driven clock and an optional scripted transport.
# Runs on CPython and MicroPython. Without a scripted transport it uses the unix port's real
# keep-alive HTTP client, so scenarios can talk to the local receiver on 127.0.0.1.

import os
import sys

T0 = 1700000000000  # 2023-11-14 22:13:20 UTC, a Tuesday: hour 22, dow 2 at tz 0


def tmpdir(tag="t"):
    if sys.implementation.name == "micropython":
        name = "/tmp/countly_%s_%s" % (tag, "".join("%02x" % b for b in os.urandom(6)))
        os.mkdir(name)
        return name
    import tempfile

    return tempfile.mkdtemp(prefix="countly_%s_" % tag)


class FakePlatform:
    name = "test"

    def __init__(self, root=None, transport=None, epoch_ms=T0, tz=0, online=True):
        self.root = root or tmpdir("store")
        self.now = epoch_ms
        self.t = 0
        self.tz = tz
        self.online = online
        self.scripted = transport
        self.ids = 0
        self.real = None

    def advance(self, ms):
        if self.now is not None:
            self.now += ms
        self.t += ms

    def metrics(self):
        return {"_os": "TestOS", "_os_version": "1.0", "_device": "fake-board"}

    def generate_device_id(self):
        self.ids += 1
        return "generated-%d" % self.ids

    def is_online(self):
        return self.online

    def ram(self):
        return 3 * 1048576 // 2, 8 * 1048576  # bytes: the SDK reports 1.5 and 8.0 MB

    def disk(self):
        return 1048576 // 4, 2 * 1048576

    def epoch_ms(self):
        return self.now

    def ticks_ms(self):
        return self.t

    def ticks_diff(self, a, b):
        return a - b

    def tz_minutes(self):
        return self.tz

    def storage_root(self):
        return self.root

    def transport(self, url, timeout_ms, tls_verify=None, ca_data=None):
        if self.scripted is not None:
            self.scripted.url = url
            return self.scripted
        from countly_http import HTTPClient

        self.real = HTTPClient(url, timeout_ms)
        return self.real


class ScriptedTransport:
    # Answers from a list: (status, retry_after, body) tuples or exception instances to raise.
    # With the list empty it answers 200 {"result":"Success"}. Every exchange is recorded.

    def __init__(self, answers=None):
        self.answers = list(answers or [])
        self.sent = []
        self.url = None
        self.closed = 0

    def exchange(self, method, path, body=None, content_type=None, max_body=None):
        # path/body may be views of the SDK's send buffer, valid during this call only.
        if body is not None:
            body = bytes(body)
        if not isinstance(path, str):
            path = bytes(path).decode()
        self.sent.append((method, path, body, content_type, self.url))
        if self.answers:
            a = self.answers.pop(0)
            if isinstance(a, Exception):
                raise a
            return a
        return 200, None, b'{"result":"Success"}'

    def close(self):
        self.closed += 1

    def params(self, i):
        # The decoded params of exchange i, as a list of (name, value).
        from countly_mp.wire import decode_params

        method, path, body = self.sent[i][0], self.sent[i][1], self.sent[i][2]
        text = body if method == "POST" else path.split("?", 1)[1]
        return decode_params(text)

    def param(self, i, name):
        for k, v in self.params(i):
            if k == name:
                return v
        return None
