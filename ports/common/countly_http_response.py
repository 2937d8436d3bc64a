# countly_http_response.py - strict push parser for one HTTP/1.x response, shared by the sync
# and asyncio transports (no socket I/O: the transports feed it what they read).
#
# It accepts exactly one well-formed response per request and nothing else: a bad status
# line, a status outside 100-599, an interim 1xx other than 100 Continue, a header without a
# colon, folded or oversized headers, an invalid or conflicting Content-Length, a
# Transfer-Encoding other than chunked, chunked garbage or a body shorter than announced all
# raise ValueError (the transports turn it into OSError and close the connection). Bytes
# beyond the response are the caller's to refuse (feed() returns where it ended).
#
# Memory: one parser per client, reset per exchange. Lines are parsed in place in the
# receive buffer (names compared without copies; only the Connection value is copied); a
# partial line is kept only when one straddles two reads; the body stops growing at max_body
# (truncated=True). Few, long methods: on MicroPython each function costs ~200 bytes of RAM
# for as long as the module is loaded, whatever its size.

try:
    from micropython import const
except ImportError:      # CPython
    def const(x):
        return x

_MAX_HEAD = const(8192)   # status line plus headers (or trailers): beyond it, hostile
_MAX_LINES = const(64)    # header lines in one head
_MAX_KEEP = const(512)    # longest line kept whole: status, the headers we read, chunk sizes
_MAX_INTERIM = const(4)   # 100 Continue answers before the real one

# parser states; the first four read lines
_STATUS = const(0)
_HEADER = const(1)
_SIZE = const(2)          # chunk-size line
_DATA_END = const(3)      # CRLF after chunk data
_TRAILER = const(4)
_BODY = const(5)          # Content-Length body
_DATA = const(6)          # chunk data
_EOF_BODY = const(7)      # body until the peer closes
_DONE = const(8)


class Response:
    """Push parser for one response: reset(), then feed() until done or the peer closes
    (eof()). Raises ValueError on anything that is not one well-formed response."""

    _part = None              # bytearray(_MAX_KEEP), made when a line straddles two reads

    def reset(self, method, max_body):
        self.status = 0
        self.retry_after = None
        self.keep_alive = True
        self.truncated = False
        self.done = False
        self.started = False          # any byte seen
        self._head_only = method == "HEAD"
        self._cap = max_body
        self._state = _STATUS
        self._plen = 0                # bytes kept in _part
        self._skip = False            # inside an overlong header line we do not read
        self._head = 0                # bytes of head (or of trailers) seen
        self._lines = 0
        self._interim = 0
        self._cl = -1
        self._te = False
        self._conn = b""              # Connection header, lower case
        self._left = 0                # body or chunk bytes still to come
        self._body = None             # bytearray being filled, or bytes taken whole
        self._got = 0

    def body(self):
        b = self._body
        if b is None:
            return b""
        if isinstance(b, bytes):
            return b
        return bytes(memoryview(b)[:self._got])

    def eof(self):
        """The peer closed. Completes a body delimited by the close; anything else is cut."""
        if self._state == _EOF_BODY:
            self._state = _DONE
            self.done = True
        elif self._state != _DONE:
            raise ValueError("closed mid-response")

    def feed(self, buf, pos, end):
        """Consume buf[pos:end]; -> the position where this response ended (or end)."""
        if pos < end:
            self.started = True
        while pos < end and self._state != _DONE:
            if self._state < _BODY:
                pos = self._line(buf, pos, end)
                continue
            # body bytes: what is announced (or all, until the close), at most up to the cap
            st = self._state
            room = self._cap - self._got
            k = end - pos if st == _EOF_BODY else min(end - pos, self._left)
            more = k > room if st == _EOF_BODY else self._left > room
            k = min(k, room)
            b = self._body
            if b is None and st == _BODY and k == self._left:
                self._body = bytes(memoryview(buf)[pos:pos + k])    # whole body at once
            elif k > 0:
                if b is None:
                    b = self._body = bytearray(min(self._cl, self._cap) if st == _BODY else 0)
                if self._got + k > len(b):
                    b.extend(memoryview(buf)[pos:pos + k])
                else:
                    b[self._got:self._got + k] = memoryview(buf)[pos:pos + k]
            self._got += k
            pos += k
            if st != _EOF_BODY:
                self._left -= k
                if not self._left:
                    self._state = _DONE if st == _BODY else _DATA_END
                    continue
            if more and self._got == self._cap:
                # the cap is reached and more is coming: keep what fits, read no further;
                # the caller must close the connection (unread bytes remain)
                self.truncated = True
                self.keep_alive = False
                self._state = _DONE
                pos = end
        self.done = self._state == _DONE
        return pos

    def _line(self, buf, pos, end):
        i = buf.find(b"\n", pos, end)
        stop = end if i < 0 else i
        self._head += stop - pos + 1
        if self._head > _MAX_HEAD and self._state != _SIZE and self._state != _DATA_END:
            raise ValueError("head too large")
        if not self._skip and (i < 0 or self._plen or stop - pos > _MAX_KEEP):
            k = stop - pos
            if self._plen + k > _MAX_KEEP:
                # Only an ordinary header may be this long (cookies, policies): skipped.
                # The status line, a chunk size or a header we read never is.
                src, s = (self._part, 0) if self._plen else (buf, pos)
                c = src.find(b":", s, s + (self._plen or _MAX_KEEP))
                self._lines += 1
                if self._state != _HEADER or c <= s or src[s] in b" \t" or _wanted(src, s, c) \
                        or self._lines > _MAX_LINES:
                    raise ValueError("line too long")
                self._skip = True
            else:                         # a line straddling two reads: keep its start
                if self._part is None:
                    self._part = bytearray(_MAX_KEEP)
                self._part[self._plen:self._plen + k] = memoryview(buf)[pos:stop]
                self._plen += k
        if i < 0:
            return end
        if self._skip:
            self._skip = False
        elif self._plen:
            self._on_line(self._part, 0, self._plen)
        else:
            self._on_line(buf, pos, stop)
        self._plen = 0
        return i + 1

    def _on_line(self, b, s, e):
        if e > s and b[e - 1] == 13:     # CRLF; a bare LF is tolerated
            e -= 1
        st = self._state
        if st == _STATUS:
            # "HTTP/1.x 200 Reason": version, SP, three digits, then SP or the end
            code = _digits(b, s + 9, s + 12, 3) if e - s >= 12 else -1
            if code < 0 or (e > s + 12 and b[s + 12] != 32) or b[s + 8] != 32 \
                    or not _eq_ci(b, s, s + 7, b"http/1.") or b[s + 7] not in b"01":
                raise ValueError("bad status line")
            if code < 100 or code > 599 or (code < 200 and code != 100):
                raise ValueError("status %d" % code)
            self.status = code
            self._http10 = b[s + 7] == 48
            self._state = _HEADER
            self._lines = 0
        elif st == _SIZE:
            # hex digits (at most 8: a chunk over 4 GiB is no answer to us), maybe ";ext"
            k = b.find(b";", s, e)
            k = e if k < 0 else k
            while k > s and b[k - 1] in b" \t":
                k -= 1
            if k == s or k - s > 8:
                raise ValueError("bad chunk size")
            n = 0
            for i in range(s, k):
                c = b[i] | 32             # lower case
                if not (48 <= c <= 57 or 97 <= c <= 102):
                    raise ValueError("bad chunk size")
                n = n * 16 + c - (48 if c <= 57 else 87)
            self._left = n
            self._state = _DATA if n else _TRAILER
            self._lines = self._head = 0
        elif st == _DATA_END:
            if e != s:
                raise ValueError("bad chunk end")
            self._state = _SIZE
        elif e == s:                      # the empty line that ends headers or trailers
            if st == _TRAILER:
                self._state = _DONE
            elif self.status == 100:      # interim answer: the real one follows
                self._interim += 1
                if self._interim > _MAX_INTERIM or self._cl >= 0 or self._te:
                    raise ValueError("bad interim response")
                self.retry_after = None
                self._conn = b""
                self._state = _STATUS
            else:
                if self._http10:
                    self.keep_alive = self._conn.find(b"keep-alive") >= 0
                else:
                    self.keep_alive = self._conn.find(b"close") < 0
                if self._te and self._cl >= 0:
                    raise ValueError("Content-Length with chunked")
                if self._head_only or self.status in (204, 304) or self._cl == 0:
                    self._state = _DONE
                elif self._te:
                    self._state = _SIZE
                elif self._cl > 0:
                    self._left = self._cl
                    self._state = _BODY
                else:
                    self.keep_alive = False   # the close ends the body
                    self._state = _EOF_BODY
        else:
            self._lines += 1
            c = b.find(b":", s, e)
            if self._lines > _MAX_LINES or c <= s or b[s] in b" \t" \
                    or b.find(b" ", s, c) >= 0 or b.find(b"\t", s, c) >= 0:
                raise ValueError("bad header line")
            w = _wanted(b, s, c) if st == _HEADER else 0
            if not w:
                return
            v0 = c + 1
            while v0 < e and b[v0] in b" \t":
                v0 += 1
            while e > v0 and b[e - 1] in b" \t":
                e -= 1
            if w == 1:                    # Content-Length: digits only, never two values
                n = _digits(b, v0, e, 12)
                if n < 0 or (self._cl >= 0 and n != self._cl):
                    raise ValueError("bad Content-Length")
                self._cl = n
            elif w == 2:                  # Transfer-Encoding: only "chunked", once
                if self._te or not _eq_ci(b, v0, e, b"chunked"):
                    raise ValueError("unsupported Transfer-Encoding")
                self._te = True
            elif w == 3:
                self._conn = bytes(b[v0:e]).lower()
            else:                         # seconds; an HTTP-date or garbage: no hint
                n = _digits(b, v0, e, 9)
                self.retry_after = n if n >= 0 else None


_NAMES = (b"content-length", b"transfer-encoding", b"connection", b"retry-after")


def _wanted(b, s, c):
    # the header named b[s:c], any case: 1 content-length, 2 transfer-encoding,
    # 3 connection, 4 retry-after, 0 another one
    for w in range(4):
        if _eq_ci(b, s, c, _NAMES[w]):
            return w + 1
    return 0


def _eq_ci(b, s, e, name):
    # b[s:e] equals name (lower-case ASCII), ignoring case
    if e - s != len(name):
        return False
    for i in range(e - s):
        c = b[s + i]
        if (c + 32 if 65 <= c <= 90 else c) != name[i]:
            return False
    return True


def _digits(b, s, e, most):
    # a decimal of 1..most digits and nothing else -> int, else -1
    if e <= s or e - s > most:
        return -1
    v = 0
    for i in range(s, e):
        d = b[i] - 48
        if d < 0 or d > 9:
            return -1
        v = v * 10 + d
    return v
