# sendbuf.py - the one buffer every request is built in before it goes out.
#
# Allocated once per process, at the first init, while the heap is still in one piece: a
# request is then built without growing a single string or bytearray (a board's heap fragments
# until a 1 KB block can no longer be found with 30 KB free). Every Countly instance of the
# process shares it; it is held from prepare() to the end of the exchange, so with asyncio a
# second instance waits its turn (one request in flight per process). REQUEST_MAX bounds what
# is stored; the slack covers what is added at send time: `rr`, the checksum, a device ID that
# replaces the temporary one, a timestamp for a request made before the clock was valid.

from .compat import const, digest_hex
from .request import REQUEST_MAX
from .wire import _safe_table

_SLACK = const(1024)
_GET_LIMIT = const(2000)  # the guide: switch to POST when the data reaches 2000 characters
_HEX = b"0123456789ABCDEF"
_PATH = b"/i?"


class TooBig(ValueError):
    pass


_shared = [None]


def shared():
    # The process's buffer, allocated on first use.
    b = _shared[0]
    if b is None:
        b = _shared[0] = SendBuffer()
    return b


class SendBuffer:
    def __init__(self):
        self.buf = bytearray(len(_PATH) + REQUEST_MAX + _SLACK)
        self.mv = memoryview(self.buf)
        self.n = 0
        self.owner = None  # the sender whose request is in the buffer now

    def reset(self):
        self.mv[0:3] = _PATH  # kept in front so a GET's path is a view, not a copy
        self.n = 3

    def put(self, data):
        n = self.n
        end = n + len(data)
        if end > len(self.buf):
            raise TooBig("request over the send buffer")
        self.mv[n:end] = data
        self.n = end

    def quote(self, value):
        # Percent-encodes value into the buffer (the same bytes as wire.quote_into).
        if not isinstance(value, (bytes, bytearray, memoryview)):
            value = str(value).encode()
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

    def params(self):
        # A view of the params written so far (after the "/i?" prefix).
        return self.mv[3 : self.n]

    def replace_params(self, data):
        self.n = 3
        self.put(data)

    def finish(self, queue_length, salt, post):
        # Adds rr and the checksum. -> (method, path, body, content_type) as views of the
        # buffer: valid until the next reset().
        self.put(b"&rr=")
        self.put(b"%d" % queue_length)
        if salt:
            # sha256 over the exact params sent plus the salt, appended last, so the server's
            # removal of "&checksum256=..." leaves exactly what was hashed.
            import hashlib

            h = hashlib.sha256(self.params())
            h.update(salt.encode())
            self.put(b"&checksum256=")
            self.put(digest_hex(h).encode())
        if post or self.n - 3 >= _GET_LIMIT:
            return "POST", "/i", self.params(), "application/x-www-form-urlencoded"
        return "GET", bytes(self.mv[0 : self.n]).decode(), None, None

