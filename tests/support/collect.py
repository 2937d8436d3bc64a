# collect.py - a fake Countly server for volume tests, in constant memory: each request is
# checked and summarised as it arrives instead of being kept (a 128 KiB MicroPython heap
# cannot hold hours of requests, nor find a 5 KB hole for a copy of one once it fragments: a
# request is read where the SDK built it, in its send buffer, and events are decoded one by
# one). Runs on CPython and MicroPython.
#
# Like the real server it answers a request that repeats the previous one byte for byte (but
# for rr and the checksum) with Success and ignores it, so a resend after a lost answer is
# never counted twice; every other delivery of an item already seen IS counted: the test then
# fails on it.

import hashlib
import json

from countly_mp import sendbuf
from countly_mp.wire import unquote

SUCCESS = (200, None, b'{"result":"Success"}')
_BOUNDARY = b"%7D%2C%7B%22key%22"  # '},{"key"' between two encoded events
_COUNTED = ("begin_session", "end_session", "session_duration", "events", "crash",
            "user_details", "location", "consent", "old_device_id", "apm")


class Collector:
    def __init__(self, ids=256):
        # Integer event ids below `ids` are counted 2 bits each, saturating at 3 (a dict of
        # 4000 int keys takes 77 KB of a MicroPython heap); other ids in a dict.
        self.ids = ids
        self.counts = bytearray((ids + 3) // 4)
        self.url = None
        self.down = False  # True: every exchange fails as if the network were gone
        self.answers = []  # scripted answers used before the defaults, as ScriptedTransport
        self.requests = 0
        self.duplicates = 0  # byte-identical resends, ignored as the server does
        self.events = {}  # other event ids (segmentation "id", else the key) -> times delivered
        self.kinds = {}  # request kind -> count (begin_session, events, crash, ...)
        self.items = []  # (name, decoded value) of the params the test asked to keep
        self.devices = {}  # device_id -> requests
        self.on_event = None  # callable(event dict), for tests that check more per event
        self._keep = ()
        self._last = None

    def keep(self, *params):
        # Params whose decoded values are kept in .items, e.g. keep("crash", "user_details").
        self._keep = params

    def exchange(self, method, path, body=None, content_type=None, max_body=None):
        if self.down:
            raise OSError(113, "host unreachable")
        if max_body is not None and str(path).startswith("/o/sdk"):
            # The SDK's own server configuration fetch: a server with nothing configured.
            return 200, None, b'{"v":2,"t":1700000000000,"c":{}}'
        lost = False
        if self.answers:
            a = self.answers.pop(0)
            if isinstance(a, Exception):
                raise a
            if a[0] != 200:
                return a
            lost = len(a) > 3  # stored, then the answer is lost: the SDK must send it again
        got = self._receive(path, body)
        if lost:
            raise OSError(104, "connection reset after the request was stored")
        return got

    def _receive(self, path, body):
        # The params as (buffer, start, end): the SDK's send buffer itself when the request is
        # a view of it (no copy), else a copy (instant requests are small).
        sb = sendbuf._shared[0]
        view = path if body is None else body
        if sb is not None and sb.owner is not None and len(view) == sb.n - sb.start + (
                3 if body is None else 0):
            buf, pos, end = sb.buf, sb.start, sb.n
        else:
            raw = view.encode() if isinstance(view, str) else bytes(view)
            if body is None:
                raw = raw[raw.find(b"?") + 1 :]
            buf, pos, end = bytearray(raw), 0, len(raw)
        mv = memoryview(buf)
        i = buf.find(b"&rr=", pos, end)
        stop = end if i < 0 else i
        digest = hashlib.sha256(mv[pos:stop]).digest()
        if digest == self._last:
            self.duplicates += 1
            return SUCCESS
        # Taken only once read whole, as a server commits a request: a MemoryError while
        # reading it (a test near its heap's end) is a failed exchange, and the SDK's retry
        # is read again instead of being taken for a duplicate.
        while pos < stop:
            amp = buf.find(b"&", pos, stop)
            amp = stop if amp < 0 else amp
            eq = buf.find(b"=", pos, amp)
            if eq > 0:
                self._param(buf, mv, bytes(mv[pos:eq]).decode(), eq + 1, amp)
            pos = amp + 1
        self._last = digest
        self.requests += 1
        return SUCCESS

    def _param(self, buf, mv, name, a, b):
        if name in self._keep:
            self.items.append((name, unquote(bytes(mv[a:b]).decode())))
        if name == "device_id":
            d = unquote(bytes(mv[a:b]).decode())
            self.devices[d] = self.devices.get(d, 0) + 1
        if name in _COUNTED:
            self.kinds[name] = self.kinds.get(name, 0) + 1
        if name == "events":
            a += 3  # "%5B"
            got = []   # counted once all are read (see _receive)
            while a < b:
                cut = buf.find(_BOUNDARY, a, b)
                stop = b - 3 if cut < 0 else cut + 3  # through "%7D", without "%5D"
                e = json.loads(unquote(bytes(mv[a:stop]).decode()))
                seg = e.get("segmentation") or {}
                eid = seg.get("id", e["key"])
                if e["key"] == "[CLY]_view" and "visit" not in seg:
                    eid = "end:%s" % eid  # a view's end repeats its start's segmentation
                got.append(eid)
                if self.on_event is not None:
                    self.on_event(e)
                a = stop + 3  # past "%2C"
            for eid in got:
                self.count(eid)

    def close(self):
        pass

    def count(self, eid):
        if type(eid) is int and 0 <= eid < self.ids:
            n = self.times(eid)
            if n < 3:
                shift = (eid & 3) * 2
                i = eid >> 2
                self.counts[i] = (self.counts[i] & ~(3 << shift) & 255) | ((n + 1) << shift)
        else:
            self.events[eid] = self.events.get(eid, 0) + 1

    def times(self, eid):
        if type(eid) is int and 0 <= eid < self.ids:
            return (self.counts[eid >> 2] >> ((eid & 3) * 2)) & 3
        return self.events.get(eid, 0)

    def delivered_once(self, ids):
        # -> (missing, duplicated) among the ids expected to arrive exactly once; also every
        # delivered id counted twice or more, expected or not
        missing = [i for i in ids if not self.times(i)]
        twice = [i for i in range(self.ids) if self.counts[i >> 2] and self.times(i) > 1]
        twice += [i for i in self.events if self.events[i] > 1]
        return missing, twice
