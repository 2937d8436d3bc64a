# sendbuf.py - the one buffer every request is built in before it goes out.
#
# Allocated once per process, at the first init, while the heap is still in one piece: a
# request is then read from flash, completed and sent without one allocation of its size (a
# board's heap fragments until a 2 KB block can no longer be found with 40 KB free). Every
# Countly instance of the process shares it; it is held from prepare() to the end of the
# exchange, so with asyncio a second instance waits its turn (one request in flight per
# process). REQUEST_MAX bounds what is stored; the slack covers what is added at send time:
# `rr`, the checksum, a device ID that replaces the temporary one, timestamps that replace the
# markers of records made before the clock was valid.
#
# Layout: "/i?" + params. A record (b"flags\n" + params) is read in at offset 3; "/i?" is then
# written over the end of its flag line, so a GET's path and a POST's body are both views.

from .compat import const, digest_hex
from .request import FLAGS_MAX, REQUEST_MAX
from .wire import _safe_table

_SLACK = const(1024)
_GET_LIMIT = const(2000)  # the guide: switch to POST when the data reaches 2000 characters
_HEX = b"0123456789ABCDEF"
_shared = [None]


def shared():
    # The process's buffer, allocated on first use.
    b = _shared[0]
    if b is None:
        b = _shared[0] = SendBuffer()
    return b


class TooBig(ValueError):
    pass


class SendBuffer:
    def __init__(self):
        self.buf = bytearray(3 + FLAGS_MAX + REQUEST_MAX + _SLACK)
        self.mv = memoryview(self.buf)
        self.start = self.n = 3  # params are buf[start:n]
        self.owner = None  # the sender whose request is in the buffer now

    def load(self, queue):
        # The oldest record of `queue` into the buffer. -> (seq, flags list) or None.
        got = queue.peek_into(self.mv[3:])
        if got is None:
            return None
        seq, n = got
        end = 3 + n
        k = self.buf.find(b"\n", 3, end)
        if k < 0:
            k = 2  # no flag line
        flags = bytes(self.mv[3:k]).decode().split() if k > 3 else []
        self.start = k + 1
        self.n = end
        self.mv[k - 2 : k + 1] = b"/i?"
        return seq, flags

    def put(self, data):
        n = self.n
        end = n + len(data)
        if end > len(self.buf):
            raise TooBig("request over the send buffer")
        self.mv[n:end] = data
        self.n = end

    def quote(self, value):
        # Percent-encodes value into the buffer (the same bytes as wire.quote_into).
        safe = _safe_table()
        buf = self.buf
        n = self.n
        limit = len(buf) - 3
        for c in value:
            if n > limit:
                raise TooBig("request over the send buffer")
            if safe[c]:
                buf[n] = c
                n += 1
            else:
                buf[n] = 37  # "%"
                buf[n + 1] = _HEX[c >> 4]
                buf[n + 2] = _HEX[c & 15]
                n += 3
        self.n = n

    def find(self, sub):
        i = self.buf.find(sub, self.start, self.n)
        return i

    def replace(self, i, j, data):
        # buf[i:j] = data in place: the tail moves (memmove), the buffer never grows.
        delta = len(data) - (j - i)
        n = self.n
        if n + delta > len(self.buf):
            raise TooBig("request over the send buffer")
        if delta:
            self.mv[j + delta : n + delta] = self.mv[j:n]
        self.mv[i : i + len(data)] = data
        self.n = n + delta

    def params(self):
        return self.mv[self.start : self.n]

    def finish(self, queue_length, salt, post):
        # Adds rr and the checksum. -> (method, path, body, content_type) as views of the
        # buffer: valid until the next load().
        self.put(b"&rr=%d" % queue_length)
        if salt:
            # sha256 over the exact params sent plus the salt, appended last, so the server's
            # removal of "&checksum256=..." leaves exactly what was hashed.
            import hashlib

            h = hashlib.sha256(self.params())
            h.update(salt.encode())
            self.put(b"&checksum256=")
            self.put(digest_hex(h).encode())
        if post or self.n - self.start >= _GET_LIMIT:
            return "POST", "/i", self.params(), "application/x-www-form-urlencoded"
        return "GET", self.mv[self.start - 3 : self.n], None, None
