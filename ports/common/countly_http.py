# countly_http.py - small keep-alive HTTP/1.1 client for CPython and MicroPython.
#
# Why not micropython-lib `requests`: released firmware ships 0.10.x, which
# speaks HTTP/1.0 with Connection: close (a TCP + TLS handshake per request),
# raises on chunked bodies and leaks the socket on ValueError. This client keeps
# one persistent connection, decodes chunked bodies, bounds everything it reads
# and closes its socket on every error path.
#
# Contract (see HTTPClient.exchange):
#   * every failure is an OSError (malformed responses, MemoryError and TLS
#     errors are converted), and the socket is closed when one is raised;
#   * the socket timeout (timeout_ms) applies to connect and to each recv; a
#     whole exchange is also bounded by deadline_ms (default 3 x timeout_ms)
#     so a peer dripping one byte per timeout cannot block forever;
#   * getaddrinfo runs once per client (DNS can block for long on devices);
#   * a REUSED connection that fails before any response byte (the peer
#     closed it while idle) is reconnected and the request resent once, never
#     more; a fresh connection is never retried here (the caller decides);
#   * bodies larger than max_body are truncated, `truncated` is set and the
#     connection is closed (the status is still valid, so the caller must not
#     treat this as a network failure and resend).
#
# TLS policy:
#   CPython: ssl.create_default_context() -> certificate and hostname
#     verification ON; ca_data (PEM str/bytes or DER bytes) replaces the system
#     store; tls_verify=False -> CERT_NONE.
#   MicroPython: there is no CA bundle, so verification needs ca_data
#     (PEM or DER; PEM is converted to DER here because this mbedTLS build
#     rejects PEM cadata). Without ca_data, or with tls_verify=False, the
#     connection is CERT_NONE and `verified` is False: the caller should warn
#     once. Give a single CA certificate: each load may replace the previous.

import errno
import socket
import sys
import time

_MP = sys.implementation.name == "micropython"

_MAX_LINE = 2048        # longest status/header/chunk-size line accepted
_MAX_HEADERS = 64       # more header lines than this is treated as garbage
_RECV_BUF = 1024        # reused receive buffer size


def _now_ms():
    # monotonic ms on both interpreters; read at call time
    if _MP:
        return time.ticks_ms()
    return int(time.monotonic() * 1000)


def _to_oserror(e):
    """One failure type for callers: everything becomes OSError."""
    if isinstance(e, OSError):
        return e
    if isinstance(e, MemoryError):
        return OSError(errno.ENOMEM, "out of memory")
    return OSError(errno.EIO, "%s: %s" % (type(e).__name__, e))


class _Reset(Exception):
    # raised internally when a connection ends before any response byte
    pass


def parse_url(url):
    """-> (scheme, host, port, base_path). base_path has no trailing slash."""
    if url.startswith("https://"):
        scheme, rest, port = "https", url[8:], 443
    elif url.startswith("http://"):
        scheme, rest, port = "http", url[7:], 80
    else:
        raise OSError(errno.EINVAL, "unsupported URL scheme")
    i = rest.find("/")
    if i < 0:
        hostport, base = rest, ""
    else:
        hostport, base = rest[:i], rest[i:].rstrip("/")
    host = hostport
    if hostport.startswith("["):          # [v6]:port
        j = hostport.find("]")
        host = hostport[1:j]
        if hostport[j + 1:j + 2] == ":":
            port = int(hostport[j + 2:])
    elif ":" in hostport:
        host, p = hostport.rsplit(":", 1)
        port = int(p)
    if not host:
        raise OSError(errno.EINVAL, "no host in URL")
    return scheme, host, port, base


def pem_to_der_list(data):
    """Split PEM text into DER certificates (MicroPython's mbedTLS wants DER)."""
    import binascii
    if isinstance(data, str):
        data = data.encode()
    begin = b"-----BEGIN CERTIFICATE-----"
    end = b"-----END CERTIFICATE-----"
    if begin not in data:
        return [bytes(data)]          # already DER
    out = []
    pos = 0
    while True:
        i = data.find(begin, pos)
        if i < 0:
            return out
        j = data.find(end, i)
        if j < 0:
            raise ValueError("truncated PEM")
        b64 = data[i + len(begin):j].replace(b"\r", b"").replace(b"\n", b"").replace(b" ", b"")
        out.append(binascii.a2b_base64(b64))
        pos = j + len(end)


def _tls_context(tls_verify, ca_data):
    # -> (context, verified); see "TLS policy" above
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if _MP:
        if tls_verify and ca_data is not None:
            ctx.verify_mode = ssl.CERT_REQUIRED
            for der in pem_to_der_list(ca_data):
                ctx.load_verify_locations(cadata=der)
            return ctx, True
    elif tls_verify:
        if ca_data is not None:
            # CPython treats str cadata as PEM and bytes as DER
            if isinstance(ca_data, (bytes, bytearray)) and b"-----BEGIN" in ca_data:
                ca_data = bytes(ca_data).decode()
            return ssl.create_default_context(cadata=ca_data), True
        return ssl.create_default_context(), True
    else:
        ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx, False


class HTTPClient:
    """Keep-alive HTTP/1.1 client bound to one server URL."""

    def __init__(self, server_url, timeout_ms=10000, tls_verify=True, ca_data=None,
                 max_body=65536, deadline_ms=None, user_agent=None):
        self.scheme, self.host, self.port, self.base_path = parse_url(server_url)
        self.timeout_ms = int(timeout_ms)
        self.deadline_ms = int(deadline_ms) if deadline_ms else 3 * self.timeout_ms
        self.tls_verify = tls_verify
        self.ca_data = ca_data
        self.max_body = int(max_body)
        self.user_agent = user_agent
        self.connections = 0      # TCP connections opened (for benchmarks)
        self.exchanges = 0        # completed request/response pairs
        self.truncated = False    # last body was cut at max_body
        self.verified = None      # TLS: whether the peer certificate is checked
        self._addr = None         # cached getaddrinfo result
        self._ctx = None          # cached TLS context (built lazily)
        self._sock = None
        self._reused = False      # current socket already carried an exchange
        self._buf = None          # reused receive buffer
        self._pos = 0
        self._end = 0
        self._got_bytes = False   # any response byte seen in this attempt
        self._start = 0

    # -- public ----------------------------------------------------------
    def exchange(self, method, path, body=None, content_type=None):
        """Send one request; -> (status, retry_after_s or None, body bytes).

        Raises OSError on any failure, after closing the socket."""
        try:
            req = self._build(method, path, body, content_type)
            self._start = _now_ms()
            try:
                return self._attempt(req, method)
            except _Reset:
                # a reused keep-alive connection died before answering: the
                # server never saw or never processed it, so one resend is safe
                self.close()
                try:
                    return self._attempt(req, method)
                except _Reset:
                    raise OSError(errno.ECONNRESET, "connection closed before response")
        except Exception as e:
            self.close()
            raise _to_oserror(e)
        except BaseException:
            self.close()  # KeyboardInterrupt etc.: never leave a half-read socket
            raise

    def close(self):
        s = self._sock
        self._sock = None
        self._reused = False
        self._pos = self._end = 0
        if s is not None:
            try:
                s.close()
            except Exception:
                pass

    # -- request ---------------------------------------------------------
    def _build(self, method, path, body, content_type):
        if body is not None and isinstance(body, str):
            body = body.encode()
        if isinstance(path, str):
            path = path.encode()
        if path[:1] != b"/":
            path = b"/" + bytes(path)
        host = self.host
        if ":" in host:
            host = "[" + host + "]"
        default_port = 443 if self.scheme == "https" else 80
        if self.port != default_port:
            host = "%s:%d" % (host, self.port)
        lines = [" HTTP/1.1", "Host: " + host, "Connection: keep-alive"]
        if self.user_agent:
            lines.append("User-Agent: " + self.user_agent)
        if body is not None:
            if content_type:
                lines.append("Content-Type: " + content_type)
            lines.append("Content-Length: %d" % len(body))
        elif method in ("POST", "PUT", "PATCH"):
            lines.append("Content-Length: 0")
        # One buffer, one sendall: a separate small write for the head would hit Nagle +
        # delayed ACK (write-write-read) on keep-alive sockets. Filled in place: a GET's path
        # can be KBs, and every str built around it would be one more block that size.
        parts = ((method + " " + self.base_path).encode(), path,
                 ("\r\n".join(lines) + "\r\n\r\n").encode(), body or b"")
        n = 0
        for x in parts:
            n += len(x)
        req = bytearray(n)
        mv = memoryview(req)
        n = 0
        for x in parts:
            mv[n:n + len(x)] = x
            n += len(x)
        return req

    def _attempt(self, req, method):
        if self._sock is None:
            self._connect()
        self._got_bytes = False
        reused = self._reused
        try:
            self._sock.sendall(req)
            return self._read_response(method)
        except _Reset:
            if reused:
                raise
            raise OSError(errno.ECONNRESET, "connection closed before response")
        except OSError as e:
            # EOF/RST/EPIPE on a reused socket before any byte: peer dropped it
            if reused and not self._got_bytes and _is_reset(e):
                raise _Reset()
            raise

    # -- connection ------------------------------------------------------
    def _connect(self):
        self.close()
        if self._addr is None:
            ai = socket.getaddrinfo(self.host, self.port, 0, socket.SOCK_STREAM)
            if not ai:
                raise OSError(errno.EHOSTUNREACH, "no address")
            self._addr = ai[0]
        af, st, proto = self._addr[:3]
        sock = socket.socket(af, st, proto)
        try:
            sock.settimeout(self.timeout_ms / 1000)
            sock.connect(self._addr[-1])
            self.connections += 1
            if self.scheme == "https":
                if self._ctx is None:
                    self._ctx, self.verified = _tls_context(self.tls_verify, self.ca_data)
                sock = self._ctx.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            try:
                sock.close()
            except Exception:
                pass
            raise
        self._sock = sock
        self._reused = False
        self._pos = self._end = 0

    # -- response --------------------------------------------------------
    def _read_response(self, method):
        while True:
            status, headers = self._read_head()
            if 100 <= status < 200 and status != 101:
                continue  # informational: the real answer follows
            break
        self.truncated = False
        conn = headers.get("connection", "").lower()
        keep = "close" not in conn and (self._version != "HTTP/1.0" or "keep-alive" in conn)
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            data = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            data = self._read_chunked()
        elif "content-length" in headers:
            n = int(headers["content-length"])
            if n < 0:
                raise ValueError("negative Content-Length")
            data = self._read_exact(min(n, self.max_body))
            if n > self.max_body:
                self.truncated = True
        else:
            data = self._read_to_eof()
            keep = False
        if self.truncated:
            keep = False  # unread bytes remain on the wire
        self.exchanges += 1
        if keep:
            self._reused = True
        else:
            self.close()
        return status, _retry_after(headers.get("retry-after")), data

    def _read_head(self):
        line = self._readline()
        parts = line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise ValueError("bad status line")
        self._version = parts[0]
        status = int(parts[1])
        if status < 100 or status > 999:
            raise ValueError("bad status code")
        headers = {}
        for _ in range(_MAX_HEADERS + 1):
            h = self._readline()
            if not h:
                return status, headers
            i = h.find(":")
            if i <= 0:
                raise ValueError("bad header line")
            headers[h[:i].strip().lower()] = h[i + 1:].strip()
        raise ValueError("too many headers")

    def _read_chunked(self):
        out = bytearray()
        while True:
            size = self._readline().split(";")[0].strip()
            n = int(size, 16)
            if n < 0:
                raise ValueError("bad chunk size")
            if n == 0:
                break
            room = self.max_body - len(out)
            if n > room:
                out.extend(self._read_exact(room))
                self.truncated = True
                return bytes(out)
            out.extend(self._read_exact(n))
            if self._readline() != "":
                raise ValueError("bad chunk terminator")
        for _ in range(_MAX_HEADERS + 1):   # trailers, ignored
            if not self._readline():
                return bytes(out)
        raise ValueError("too many trailers")

    def _read_to_eof(self):
        out = bytearray()
        while len(out) < self.max_body:
            if self._pos >= self._end and not self._fill(eof_ok=True):
                return bytes(out)
            take = min(self._end - self._pos, self.max_body - len(out))
            out.extend(memoryview(self._buf)[self._pos:self._pos + take])
            self._pos += take
        self.truncated = True
        return bytes(out)

    # -- buffered reading --------------------------------------------------
    def _fill(self, eof_ok=False):
        """Read more bytes into the reused buffer. -> False on clean EOF."""
        now = _now_ms()
        if (time.ticks_diff(now, self._start) if _MP else now - self._start) > self.deadline_ms:
            raise OSError(errno.ETIMEDOUT, "exchange deadline exceeded")
        if self._buf is None:
            self._buf = bytearray(_RECV_BUF)
        sock = self._sock
        if not _MP:
            n = sock.recv_into(self._buf)
        else:
            # MicroPython: readinto()/recv_into() wait until the whole buffer
            # is filled (measured on plain and TLS sockets); recv() returns
            # what is available, at the cost of one small bytes object
            chunk = sock.recv(_RECV_BUF)
            n = len(chunk)
            self._buf[:n] = chunk
        self._pos, self._end = 0, n
        if n == 0:
            if not self._got_bytes:
                raise _Reset()
            if eof_ok:
                return False
            raise OSError(errno.ECONNRESET, "connection closed mid-response")
        self._got_bytes = True
        return True

    def _readline(self):
        """One CRLF/LF-terminated line as str, without the terminator."""
        line = bytearray()
        while True:
            if self._pos >= self._end:
                self._fill()
            end = self._end
            i = self._buf.find(b"\n", self._pos, end)
            if i < 0:
                i = end
            line.extend(memoryview(self._buf)[self._pos:i])
            if len(line) > _MAX_LINE:
                raise ValueError("line too long")
            if i < end:
                self._pos = i + 1
                if line and line[-1] == 13:
                    line = line[:-1]
                return bytes(line).decode("latin-1") if not _MP else bytes(line).decode()
            self._pos = end

    def _read_exact(self, n):
        out = bytearray(n)
        mv_out = memoryview(out)
        got = 0
        while got < n:
            if self._pos >= self._end:
                self._fill()
            take = min(self._end - self._pos, n - got)
            mv_out[got:got + take] = memoryview(self._buf)[self._pos:self._pos + take]
            self._pos += take
            got += take
        return bytes(out)


def _is_reset(e):
    code = e.args[0] if e.args else None
    if not isinstance(code, int):
        code = getattr(e, "errno", None)
    return code in (errno.ECONNRESET, errno.EPIPE, getattr(errno, "ECONNABORTED", -1),
                    getattr(errno, "ENOTCONN", -1))


def _retry_after(value):
    """Retry-After as integer seconds; HTTP-date or garbage -> None."""
    if value is None:
        return None
    try:
        n = int(value.strip())
    except ValueError:
        return None
    return n if n >= 0 else 0
