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
# Memory: one parser per client, reset per exchange; header lines are read in place in the
# receive buffer (only Content-Length, Transfer-Encoding, Connection and Retry-After are
# looked at, without building strings); a partial line is kept only when one straddles two
# reads; the body stops growing at max_body (truncated=True).

_MAX_HEAD = 8192       # status line plus headers (and trailers): beyond it the peer is hostile
_MAX_LINES = 64        # header lines in one head
_MAX_KEEP = 512        # longest line kept whole: status, the four headers we read, chunk sizes
_MAX_INTERIM = 4       # 100 Continue answers before the real one

# parser states
_STATUS = 0
_HEADER = 1
_BODY = 2        # Content-Length body
_EOF_BODY = 3    # body until the peer closes
_SIZE = 4        # chunk-size line
_DATA = 5        # chunk data
_DATA_END = 6    # CRLF after chunk data
_TRAILER = 7
_DONE = 8


class Response:
    """Push parser for one response. reset(), then feed() until done or the peer closes
    (eof()). Raises ValueError on anything that is not one well-formed response."""

    def __init__(self):
        self._part = None
        self.reset("GET", 4096)

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
        self._plen = 0                # bytes in _part
        self._skip = False            # inside an overlong header line we do not read
        self._head = 0                # bytes of head seen
        self._lines = 0
        self._interim = 0
        self._cl = -1
        self._te = False
        self._close = False           # Connection: close
        self._ka = False              # Connection: keep-alive
        self._http10 = False
        self._left = 0                # body or chunk bytes still to come
        self._body = None             # bytearray being filled, or bytes when taken whole
        self._got = 0

    def body(self):
        b = self._body
        if b is None:
            return b""
        if isinstance(b, bytes):
            return b
        return bytes(memoryview(b)[:self._got])

    # -- feeding -----------------------------------------------------------------------------
    def feed(self, buf, pos, end):
        """Consume buf[pos:end]; -> the position where this response ended (or end)."""
        if pos < end:
            self.started = True
        while pos < end and self._state != _DONE:
            st = self._state
            if st == _BODY or st == _DATA:
                pos = self._take(buf, pos, end)
            elif st == _EOF_BODY:
                pos = self._take(buf, pos, end)
            else:
                pos = self._line(buf, pos, end)
        return pos

    def eof(self):
        """The peer closed. Completes a body delimited by the close; anything else is cut."""
        if self._state == _EOF_BODY:
            self._finish()
            return
        if self._state != _DONE:
            raise ValueError("connection closed mid-response")

    def _finish(self):
        self._state = _DONE
        self.done = True

    # -- lines -------------------------------------------------------------------------------
    def _line(self, buf, pos, end):
        i = buf.find(b"\n", pos, end)
        stop = end if i < 0 else i
        n = stop - pos
        self._head += n + (1 if i >= 0 else 0)
        if self._head > _MAX_HEAD and self._state != _SIZE and self._state != _DATA_END:
            raise ValueError("response head too large")
        if not self._skip:
            if self._plen + n > _MAX_KEEP:
                self._overlong(buf, pos, stop)
            elif i < 0 or self._plen:
                self._keep(buf, pos, stop)
        if i < 0:
            return end
        if self._skip:
            self._skip = False
            self._plen = 0
        elif self._plen:
            p = self._part
            k = self._plen
            self._plen = 0
            self._on_line(p, 0, k)
        else:
            self._on_line(buf, pos, stop)
        return i + 1

    def _keep(self, buf, pos, stop):
        # a line that straddles two reads: keep its start (bounded by _MAX_KEEP)
        if self._part is None:
            self._part = bytearray(_MAX_KEEP)
        k = stop - pos
        memoryview(self._part)[self._plen:self._plen + k] = memoryview(buf)[pos:stop]
        self._plen += k

    def _overlong(self, buf, pos, stop):
        # Only an ordinary header line may be long (cookies, policies): we skip its value.
        # The status line, a chunk size or a header we must read never is.
        if self._state != _HEADER:
            raise ValueError("line too long")
        if self._plen:
            src, s, e = self._part, 0, self._plen
        else:
            src, s, e = buf, pos, stop
        c = src.find(b":", s, e)
        if c <= s or _wanted(src, s, c) or src[s] in b" \t":
            raise ValueError("header line too long")
        self._lines += 1
        if self._lines > _MAX_LINES:
            raise ValueError("too many headers")
        self._skip = True
        self._plen = 0

    def _on_line(self, b, s, e):
        if e > s and b[e - 1] == 13:     # CRLF; a bare LF is tolerated
            e -= 1
        st = self._state
        if st == _STATUS:
            self._status_line(b, s, e)
        elif st == _HEADER or st == _TRAILER:
            if e == s:
                self._end_of_head() if st == _HEADER else self._finish()
                return
            self._lines += 1
            if self._lines > _MAX_LINES:
                raise ValueError("too many headers")
            if b[s] in b" \t":
                raise ValueError("folded header line")
            c = b.find(b":", s, e)
            if c <= s or b.find(b" ", s, c) >= 0 or b.find(b"\t", s, c) >= 0:
                raise ValueError("bad header line")
            if st == _HEADER:
                self._header(b, s, c, e)
        elif st == _SIZE:
            self._chunk_size(b, s, e)
        elif st == _DATA_END:
            if e != s:
                raise ValueError("bad chunk terminator")
            self._state = _SIZE

    def _status_line(self, b, s, e):
        # "HTTP/1.x 200 Reason": version, SP, exactly three digits, then SP or end
        if e - s < 12 or not _eq(b, s, b"HTTP/1.") or b[s + 7] not in b"01" \
                or b[s + 8] != 32:
            raise ValueError("bad status line")
        code = 0
        for k in range(s + 9, s + 12):
            d = b[k] - 48
            if d < 0 or d > 9:
                raise ValueError("bad status code")
            code = code * 10 + d
        if e > s + 12 and b[s + 12] != 32:
            raise ValueError("bad status code")
        if code < 100 or code > 599:
            raise ValueError("status out of range")
        if 100 <= code < 200 and code != 100:
            raise ValueError("unexpected informational status")
        self.status = code
        self._http10 = b[s + 7] == 48
        self._state = _HEADER
        self._lines = 0

    def _header(self, b, s, c, e):
        which = _wanted(b, s, c)
        if not which:
            return
        v0 = c + 1
        while v0 < e and b[v0] in b" \t":
            v0 += 1
        v1 = e
        while v1 > v0 and b[v1 - 1] in b" \t":
            v1 -= 1
        if which == 1:                         # content-length: digits only, never two values
            n = _digits(b, v0, v1, 12)
            if n < 0:
                raise ValueError("bad Content-Length")
            if self._cl >= 0 and n != self._cl:
                raise ValueError("conflicting Content-Length")
            self._cl = n
        elif which == 2:                       # transfer-encoding: only "chunked", once
            if self._te or not _eq_ci(b, v0, v1, b"chunked"):
                raise ValueError("unsupported Transfer-Encoding")
            self._te = True
        elif which == 3:
            self._close = _find_ci(b, v0, v1, b"close")
            self._ka = _find_ci(b, v0, v1, b"keep-alive")
        else:
            n = _digits(b, v0, v1, 9)          # an HTTP-date or garbage: no hint
            self.retry_after = n if n >= 0 else None

    def _end_of_head(self):
        if self.status == 100:
            # interim answer: the real one follows on the same stream
            self._interim += 1
            if self._interim > _MAX_INTERIM:
                raise ValueError("too many interim responses")
            if self._cl >= 0 or self._te:
                raise ValueError("body on an interim response")
            self.retry_after = None
            self._close = self._ka = False
            self._state = _STATUS
            return
        self.keep_alive = self._ka if self._http10 else not self._close
        if self._te and self._cl >= 0:
            raise ValueError("both Content-Length and Transfer-Encoding")
        if self._head_only or self.status in (204, 304):
            self._finish()
        elif self._te:
            self._state = _SIZE
        elif self._cl >= 0:
            self._left = self._cl
            if self._cl == 0:
                self._finish()
            else:
                self._state = _BODY
        else:
            self.keep_alive = False       # the close ends the body
            self._state = _EOF_BODY

    def _chunk_size(self, b, s, e):
        k = b.find(b";", s, e)
        if k < 0:
            k = e
        while k > s and b[k - 1] in b" \t":
            k -= 1
        if k == s or k - s > 8:        # a chunk over 4 GiB is no answer to us
            raise ValueError("bad chunk size")
        n = 0
        for i in range(s, k):
            c = b[i] | 32              # lower-case letters
            if 48 <= c <= 57:
                d = c - 48
            elif 97 <= c <= 102:
                d = c - 87
            else:
                raise ValueError("bad chunk size")
            n = n * 16 + d
        if n == 0:
            self._state = _TRAILER
            self._lines = 0
            self._head = 0
        else:
            self._left = n
            self._state = _DATA

    # -- body --------------------------------------------------------------------------------
    def _take(self, buf, pos, end):
        st = self._state
        avail = end - pos
        k = avail if st == _EOF_BODY else min(avail, self._left)
        room = self._cap - self._got
        if k > room:
            # over the cap: keep what fits, stop reading; the connection must then be closed
            self._store(buf, pos, room)
            self.truncated = True
            self.keep_alive = False
            self._finish()
            return end
        self._store(buf, pos, k)
        pos += k
        if st != _EOF_BODY:
            self._left -= k
            if self._left == 0:
                if st == _BODY:
                    self._finish()
                else:
                    self._state = _DATA_END
            elif self._got == self._cap:
                # full, and more is announced: no need to wait for it
                self.truncated = True
                self.keep_alive = False
                self._finish()
                return end
        return pos

    def _store(self, buf, pos, k):
        if k <= 0:
            return
        b = self._body
        if b is None and self._state == _BODY and k == self._left:
            self._body = bytes(memoryview(buf)[pos:pos + k])    # whole body in one read
            self._got = k
            return
        if b is None:
            size = min(self._cl, self._cap) if self._state == _BODY else 0
            b = self._body = bytearray(size)
        if self._got + k > len(b):
            b.extend(memoryview(buf)[pos:pos + k])
        else:
            memoryview(b)[self._got:self._got + k] = memoryview(buf)[pos:pos + k]
        self._got += k


def _wanted(b, s, c):
    # which header we read: 1 content-length, 2 transfer-encoding, 3 connection,
    # 4 retry-after, 0 any other (compared without building a string)
    n = c - s
    if n == 14 and _eq_ci(b, s, c, b"content-length"):
        return 1
    if n == 17 and _eq_ci(b, s, c, b"transfer-encoding"):
        return 2
    if n == 10 and _eq_ci(b, s, c, b"connection"):
        return 3
    if n == 11 and _eq_ci(b, s, c, b"retry-after"):
        return 4
    return 0


def _eq(b, s, name):
    # b[s:s + len(name)] equals name, byte for byte
    for i in range(len(name)):
        if b[s + i] != name[i]:
            return False
    return True


def _eq_ci(b, s, e, name):
    # b[s:e] equals name (lower-case ASCII), ignoring case
    if e - s != len(name):
        return False
    for i in range(e - s):
        c = b[s + i]
        if 65 <= c <= 90:
            c += 32
        if c != name[i]:
            return False
    return True


def _find_ci(b, s, e, name):
    # name (lower-case ASCII) occurs in b[s:e], ignoring case
    n = len(name)
    for i in range(s, e - n + 1):
        if _eq_ci(b, i, i + n, name):
            return True
    return False


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
