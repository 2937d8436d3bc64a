# fakes.py - a fake port for tests: a hand-driven clock and a scripted transport. Runs on
# CPython and MicroPython. With transport=HTTP it uses the unix port's real keep-alive HTTP
# client instead, so scenarios can talk to the local receiver on 127.0.0.1 (only then: the
# client's code is 13 KB of a 128 KiB test heap).

import os
import sys

HTTP = "http"  # FakePlatform(transport=HTTP): the real HTTP client
T0 = 1700000000000  # 2023-11-14 22:13:20 UTC, a Tuesday: hour 22, dow 2 at tz 0


def tmpdir(tag="t"):
    if sys.implementation.name == "micropython":
        name = "/tmp/countly_%s_%s" % (tag, "".join("%02x" % b for b in os.urandom(6)))
        os.mkdir(name)
        return name
    import tempfile

    return tempfile.mkdtemp(prefix="countly_%s_" % tag)


# One NOR ring device per storage root: it outlives a restart of the SDK on the same root, as
# a partition outlives a reboot.
_RINGS = {}
RING_BLOCKS = 768   # 3 MiB: the ~4,000 events (2 records each) of the hour scenario's backlog fit


class FakePlatform:
    name = "test"
    # "ring": both queues on a NOR-rule flash ring (tests/support/norblock.py) through the same
    # make_queue hook the ports use, instead of LittleFS-style files. Set per test.
    queue = None

    def __init__(self, root=None, transport=None, epoch_ms=T0, tz=0, online=True):
        self.root = root or tmpdir("store")
        self.now = epoch_ms
        self.t = 0
        self.tz = tz
        self.online = online
        self.scripted = None if transport == HTTP else transport or ScriptedTransport()
        self.ids = 0
        self.real = None

    def make_queue(self, name, capacity, max_item, store=None):
        if self.queue != "ring":
            return None
        dev = _RINGS.get(self.root)
        if dev is None:
            from norblock import NorBlock

            # MicroPython keeps the image in a host file: 512 KiB is more than its test heap
            mp = sys.implementation.name == "micropython"
            dev = _RINGS[self.root] = NorBlock(4096, RING_BLOCKS, once=True,
                                               path=self.root + "/ring.img" if mp else None)
        from countly_blockfile import ring_queue

        return ring_queue(dev, name, capacity, max_item, store)

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
        return Capped(self.real)


class Capped:
    # The port's HTTP client with the per-call max_body the SDK's instant requests pass
    # (docs/internals.md); a client that does not take it yet gets it set for the call.
    def __init__(self, client):
        self.client = client
        self.truncated = False

    def exchange(self, method, path, body=None, content_type=None, max_body=None):
        c = self.client
        if max_body is None:
            got = c.exchange(method, path, body, content_type)
        else:
            try:
                got = c.exchange(method, path, body, content_type, max_body=max_body)
            except TypeError:
                keep, c.max_body = c.max_body, max_body
                try:
                    got = c.exchange(method, path, body, content_type)
                finally:
                    c.max_body = keep
        self.truncated = c.truncated
        return got

    def close(self):
        self.client.close()


SUCCESS = (200, None, b'{"result":"Success"}')
# What a Countly server with nothing configured answers for each /o/sdk method.
_SDK = {"sc": b'{"v":2,"t":1700000000000,"c":{}}', "rc": b"{}", "fetch_remote_config": b"{}",
        "ab": b'{"result":"Successfully enrolled in ab tests"}', "ab_fetch_variants": b"{}",
        "feedback": b'{"result":[]}', "?": b'{"result":"Invalid method"}'}


class ScriptedTransport:
    # Answers from a list: (status, retry_after, body) tuples or exception instances to raise.
    # With the list empty it answers 200 {"result":"Success"}. Every exchange is recorded.
    #
    # The SDK's own instant requests (/o/sdk, /i/sdk, the widget paths, and /i with `hc` or
    # method=ab_enroll_variant) go to a second channel: recorded in `side`, answered from
    # `side_answers` first, else as a Countly server with nothing configured answers (see
    # _side_default; `fixtures` replaces a method's answer). So the queued traffic in `sent`
    # and `answers` stays exactly what the tests of the queue script, whatever the SDK fetches
    # when it is idle. A body over the exchange's max_body is cut and `truncated` set, as the
    # HTTP client does.

    def __init__(self, answers=None):
        self.answers = list(answers or [])
        self.sent = []
        self.side = []
        self.side_answers = []
        self.fixtures = {}  # method or path -> body object answered with 200
        self.url = None
        self.closed = 0
        self.truncated = False

    def exchange(self, method, path, body=None, content_type=None, max_body=None):
        # path/body may be views of the SDK's send buffer, valid during this call only.
        if body is not None:
            body = bytes(body)
        if not isinstance(path, str):
            path = bytes(path).decode()
        record = (method, path, body, content_type, self.url)
        if self._is_side(path, body):
            self.side.append(record)
            answers, a = self.side_answers, None
        else:
            self.sent.append(record)
            answers, a = self.answers, SUCCESS
        if answers:
            a = answers.pop(0)
            if isinstance(a, Exception):
                raise a
        elif a is None:
            a = self._side_default(len(self.side) - 1)
        self.truncated = max_body is not None and len(a[2]) > max_body
        if self.truncated:
            a = (a[0], a[1], a[2][:max_body])
        return a

    def close(self):
        self.closed += 1

    @staticmethod
    def _is_side(path, body):
        if not path.startswith("/i?") and path != "/i":
            return True
        for tag in ("&hc=", "&method=ab_enroll_variant"):
            if tag in path or (body is not None and tag.encode() in body):
                return True
        return False

    def _side_default(self, i):
        # A Countly server with nothing configured; `fixtures` (method or widget path -> JSON
        # object) replaces an answer.
        import json

        path = self.side[i][1].split("?", 1)[0]
        key = self.side_param(i, "method") if path in ("/o/sdk", "/i/sdk") else path
        if key in self.fixtures:
            return 200, None, json.dumps(self.fixtures[key]).encode()
        if key == "/i":
            return SUCCESS
        if path != "/o/sdk" and path != "/i/sdk":
            return 404, None, b'{"result":"Widget not found."}'
        if key not in _SDK:
            return 400, None, _SDK["?"]
        return 200, None, _SDK[key]

    def params(self, i, side=False):
        # The decoded params of exchange i, as a list of (name, value).
        from countly_mp.wire import decode_params

        rec = (self.side if side else self.sent)[i]
        method, path, body = rec[0], rec[1], rec[2]
        text = body if method == "POST" else path.split("?", 1)[1]
        return decode_params(text)

    def param(self, i, name, side=False):
        for k, v in self.params(i, side):
            if k == name:
                return v
        return None

    def side_param(self, i, name):
        return self.param(i, name, True)

    def side_methods(self):
        # The `method` (or the path, for widget paths and /i) of every side exchange.
        out = []
        for i in range(len(self.side)):
            path = self.side[i][1].split("?", 1)[0]
            out.append(self.side_param(i, "method") or path)
        return out
