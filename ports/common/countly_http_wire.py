# countly_http_wire.py - what the sync and asyncio HTTP transports share besides the socket
# reads and writes: the client state (Client: server URL, TLS plan, counters, cached DNS),
# the request bytes, and the deadline and error helpers. Inside the transports EOFError
# means "the connection ended before any response byte". The response parser is
# countly_http_response.py, the TLS policy countly_tls.py.

import errno
import sys
import time

import countly_http_response

_MP = sys.implementation.name == "micropython"

MAX_BODY = 4096        # default cap of a response body kept in RAM


class Client:
    """State both transports keep per server. Construction does no network I/O; a TLS
    setting this runtime cannot honour raises ValueError (see countly_tls)."""

    _addr = None          # cached getaddrinfo result: DNS once per client
    _ctx = None           # TLS context, built at the first connect
    _sock = None          # the connection
    _poll = None          # MicroPython: the connection's poll object
    _buf = None           # receive buffer (also holds a request that fits)
    _pos = 0              # unread bytes are _buf[_pos:_end]
    _end = 0

    def __init__(self, server_url, timeout_ms=10000, tls_verify=True, ca_data=None,
                 max_body=MAX_BODY, user_agent=None):
        scheme, self.host, self.port, self._base, self._mid = parse_url(server_url,
                                                                        user_agent)
        self.scheme = scheme
        self.timeout_ms = int(timeout_ms)
        self.tls_verify = tls_verify
        self.ca_data = ca_data
        self.max_body = int(max_body)
        self.insecure = False         # https with an unverified certificate
        self.verified = None          # https: whether the certificate is checked
        if scheme == "https":
            import countly_tls

            self._verify, self._bundle = countly_tls.tls_plan(tls_verify, ca_data)
            self.insecure = not self._verify
            self.verified = self._verify
        self._response = countly_http_response.Response()
        self.connections = 0          # TCP connections opened
        self.exchanges = 0            # completed request/response pairs
        self.resends = 0              # requests resent once on a new connection
        self.truncated = False        # the last body was cut at max_body

    def _address(self):
        if self._addr is None:
            import socket

            ai = socket.getaddrinfo(self.host, self.port, 0, socket.SOCK_STREAM)
            if not ai:
                raise OSError(errno.EHOSTUNREACH, "no address")
            self._addr = ai[0]
        return self._addr


# -- time and errors ----------------------------------------------------------------------------
def deadline(ms):
    # the monotonic ms clock value `ms` from now (ticks on MicroPython: wrap-safe)
    if _MP:
        return time.ticks_add(time.ticks_ms(), ms)
    return int(time.monotonic() * 1000) + ms


def left_ms(when):
    # ms until the deadline `when` (negative once passed)
    if _MP:
        return time.ticks_diff(when, time.ticks_ms())
    return when - int(time.monotonic() * 1000)


def timed_out():
    return OSError(errno.ETIMEDOUT, "exchange deadline exceeded")


def to_oserror(e):
    """One failure type for callers: everything becomes OSError."""
    if isinstance(e, OSError):
        if not _MP and isinstance(e, TimeoutError) and not e.errno:
            return timed_out()     # socket.timeout / asyncio's TimeoutError carry no errno
        return e
    if isinstance(e, MemoryError):
        return OSError(errno.ENOMEM, "out of memory")
    if type(e).__name__ == "TimeoutError":     # MicroPython asyncio.TimeoutError
        return timed_out()
    return OSError(errno.EIO, "%s: %s" % (type(e).__name__, e))


def is_reset(e):
    # the peer closed or reset the connection (as opposed to a timeout or a refusal)
    code = e.args[0] if e.args else None
    if not isinstance(code, int):
        code = getattr(e, "errno", None)
    return code in (errno.ECONNRESET, errno.EPIPE, getattr(errno, "ECONNABORTED", -1),
                    getattr(errno, "ENOTCONN", -1))


# -- request --------------------------------------------------------------------------------
def parse_url(url, user_agent=None):
    """-> (scheme, host, port, base path bytes, the constant middle of every request head).

    Checked once, at construction: ValueError for a URL (or User-Agent) no request can
    carry."""
    if url.startswith("https://"):
        scheme, rest, port = "https", url[8:], 443
    elif url.startswith("http://"):
        scheme, rest, port = "http", url[7:], 80
    else:
        raise ValueError("unsupported URL scheme")
    i = rest.find("/")
    hostport, base = (rest, "") if i < 0 else (rest[:i], rest[i:].rstrip("/"))
    host = hostport
    if hostport.startswith("["):          # [v6]:port
        j = hostport.find("]")
        host = hostport[1:j]
        if hostport[j + 1:j + 2] == ":":
            port = int(hostport[j + 2:])
    elif ":" in hostport:
        host, p = hostport.rsplit(":", 1)
        port = int(p)
    for c in " \r\n":
        if not host or c in hostport or c in base or (c != " " and c in (user_agent or "")):
            raise ValueError("bad host, URL path or User-Agent")
    if port != (443 if scheme == "https" else 80):
        hostport = "%s:%d" % ("[" + host + "]" if ":" in host else host, port)
    mid = b" HTTP/1.1\r\nHost: " + hostport.encode() + b"\r\nConnection: keep-alive\r\n"
    if user_agent:
        mid += b"User-Agent: " + user_agent.encode() + b"\r\n"
    return scheme, host, port, base.encode(), mid


def no_delay(sock):
    # TCP_NODELAY: a request sent in parts (build_request) goes out without waiting for the
    # ACK of the part before. 6 and 1 are IPPROTO_TCP and TCP_NODELAY on Linux and lwIP alike;
    # a stack without the option sends as before, only later.
    try:
        sock.setsockopt(6, 1, 1)
    except Exception:
        pass


def build_request(scratch, method, base, mid, path, body, content_type):
    """-> tuple of memoryviews that make the request, sent one after the other.

    One buffer, one send when it fits `scratch` (the client's receive buffer, idle while a
    request goes out): a separate small write for the head would meet Nagle and delayed ACK
    (write-write-read) on a keep-alive socket, and a typical request costs no allocation.
    A request larger than the scratch is never copied whole: on a long-running device the
    heap rarely has one free block of a batch's size. The head goes from the scratch, the path
    and the body from where they already are (TCP_NODELAY on the socket keeps the extra
    writes from waiting). str, bytes, bytearray and memoryview paths and bodies are sent as
    they are (a MicroPython str through a memoryview of its UTF-8 bytes, without a copy)."""
    # a space or line break in the path would end the request line early: the server would
    # read another request than the one meant (and take the rest for the next one)
    if isinstance(path, (str, bytes, bytearray)):
        for c in (" ", "\r", "\n"):
            if (c if isinstance(path, str) else c.encode()) in path:
                raise ValueError("space or line break in request path")
    else:
        for c in path:
            if c == 32 or c == 13 or c == 10:
                raise ValueError("space or line break in request path")
    if isinstance(path, str):
        path = memoryview(path) if _MP else path.encode()
    if isinstance(body, str):
        body = memoryview(body) if _MP else body.encode()
    m = method.encode()
    ct = b""
    blen = -1                                   # no Content-Length header
    if body is not None:
        blen = len(body)
        if content_type:
            if "\r" in content_type or "\n" in content_type:
                raise ValueError("line break in Content-Type")
            ct = content_type.encode()
    elif method in ("POST", "PUT", "PATCH"):
        blen = 0
    slash = 0 if len(path) and path[0] == 47 else 1        # 47 = "/"
    nd = len(str(blen)) if blen >= 0 else 0
    rest = len(mid) + (len(ct) + 16 if ct else 0) + (18 + nd if blen >= 0 else 0) + 2
    lead = len(m) + 1 + len(base) + slash
    whole = lead + len(path) + rest + max(blen, 0) <= len(scratch)
    inline = whole or lead + len(path) + rest <= len(scratch)   # the path within the head
    if not inline and lead + rest > len(scratch):
        raise ValueError("request head too long")
    mv = memoryview(scratch)
    pos = _put(mv, 0, m)
    pos = _put(mv, pos, b" ")
    pos = _put(mv, pos, base)
    if slash:
        pos = _put(mv, pos, b"/")
    start = 0
    if inline:
        pos = _put(mv, pos, path)
    else:
        parts = [mv[:pos], memoryview(path)]
        start = pos
    pos = _put(mv, pos, mid)
    if ct:
        pos = _put(mv, pos, b"Content-Type: ")
        pos = _put(mv, pos, ct)
        pos = _put(mv, pos, b"\r\n")
    if blen >= 0:
        pos = _put(mv, pos, b"Content-Length: ")
        v = blen
        for i in range(pos + nd - 1, pos - 1, -1):
            scratch[i] = 48 + v % 10
            v //= 10
        pos = _put(mv, pos + nd, b"\r\n")
    pos = _put(mv, pos, b"\r\n")
    if whole:
        if blen > 0:
            pos = _put(mv, pos, body)
        return (mv[:pos],)
    if inline:
        parts = [mv[:pos]]
    else:
        parts.append(mv[start:pos])
    if blen > 0:
        parts.append(memoryview(body))
    return tuple(parts)


def _put(mv, pos, p):
    k = len(p)
    mv[pos:pos + k] = p
    return pos + k
