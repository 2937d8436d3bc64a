# server.py - the HTTP/1.1 server under the receiver: keep-alive, bounded bodies, bounded time
# per request and per connection, a bounded number of connections, and the raw socket tricks
# the fault modes need (hang, reset).
#
# Time limits: a connection may sit idle between requests for `idle_s`; once the first byte of
# a request arrives, the whole request (line, headers, body) must arrive within `request_s`,
# however the bytes trickle in; after `connection_s` the next answer carries "Connection:
# close", so no connection outlives connection_s + idle_s + request_s (+ write_s). Answers
# must be written within `write_s`. A connection beyond `max_connections` gets a 503 and is
# closed at once.

import io
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import _SocketWriter

from .answer import Answer, result


class Limits:
    def __init__(self, max_body=1024 * 1024, max_stored_body=64 * 1024, max_connections=64,
                 idle_s=30.0, request_s=30.0, connection_s=600.0, write_s=10.0):
        # max_body: nginx's default client_max_body_size in front of a real server (1 MiB).
        self.max_body = int(max_body)
        self.max_stored_body = int(max_stored_body)
        self.max_connections = int(max_connections)
        self.idle_s = float(idle_s)
        self.request_s = float(request_s)
        self.connection_s = float(connection_s)
        self.write_s = float(write_s)

    def as_dict(self):
        return dict(vars(self))


class DeadlineReader:
    # The handler's rfile: buffered reads from the socket where every recv is bounded by an
    # absolute deadline, not a per-recv timeout that each trickled byte would renew.
    def __init__(self, sock):
        self._sock = sock
        self._buf = bytearray()
        self._eof = False
        self._until = 0.0
        self._request_s = 0.0
        self._idle = True

    def arm(self, idle_s, request_s):
        # Called before each request: idle_s until its first byte, then request_s in all.
        self._request_s = request_s
        if self._buf:
            self._start_request()
        else:
            self._idle = True
            self._until = time.monotonic() + idle_s

    def _start_request(self):
        self._idle = False
        self._until = time.monotonic() + self._request_s

    def _fill(self):
        if self._eof:
            return False
        left = self._until - time.monotonic()
        if left <= 0:
            raise socket.timeout("deadline passed")
        self._sock.settimeout(left)
        data = self._sock.recv(65536)
        if not data:
            self._eof = True
            return False
        if self._idle:
            self._start_request()
        self._buf += data
        return True

    def readline(self, limit=-1):
        while True:
            i = self._buf.find(b"\n")
            if i >= 0 and (limit < 0 or i < limit):
                n = i + 1
                break
            if 0 <= limit <= len(self._buf):
                n = limit
                break
            if not self._fill():
                n = len(self._buf)
                break
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def read(self, n):
        while len(self._buf) < n and self._fill():
            pass
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def close(self):
        self._buf = bytearray()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # a burst of connects waits in the backlog, not in SYN retries

    def __init__(self, addr, receiver):
        self.receiver = receiver
        self.limits = receiver.limits
        self._slots = threading.BoundedSemaphore(self.limits.max_connections)
        self._conns = set()
        self._conns_lock = threading.Lock()
        if ":" in addr[0]:
            self.address_family = socket.AF_INET6
        super().__init__(addr, _Handler)

    def process_request(self, request, client_address):
        if not self._slots.acquire(blocking=False):
            self.receiver.count("refused_connections")
            _refuse(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request, client_address):
        # Client disconnects are routine for a test receiver; no tracebacks on stderr.
        import sys

        self.receiver.log("connection error from", client_address, repr(sys.exc_info()[1]))

    def track(self, sock, add):
        with self._conns_lock:
            (self._conns.add if add else self._conns.discard)(sock)

    def close_all(self):
        # Wakes handler threads parked on keep-alive connections, then closes the listener.
        self.server_close()
        with self._conns_lock:
            conns = list(self._conns)
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _refuse(sock):
    body = b'{"result":"Too many connections to the receiver"}'
    try:
        sock.settimeout(0.5)
        sock.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json;"
                     b" charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                     % (len(body), body))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "countly-receiver/2"
    sys_version = ""

    def setup(self):
        self.connection = self.request
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile = DeadlineReader(self.connection)
        self.wfile = _SocketWriter(self.connection)
        self._conn_end = time.monotonic() + self.server.limits.connection_s
        self.server.track(self.connection, True)
        rcv = self.server.receiver
        with rcv._lock:
            rcv._connections += 1

    def handle(self):
        lim = self.server.limits
        self.close_connection = True
        self._next(lim)
        while not self.close_connection:
            self._next(lim)

    def _next(self, lim):
        self.rfile.arm(lim.idle_s, lim.request_s)
        # http.server catches a timeout anywhere in the request and closes the connection.
        self.handle_one_request()

    def log_error(self, fmt, *args):
        # http.server calls this for a request that timed out; count it, close the connection.
        if fmt.startswith("Request timed out"):
            idle = self.rfile._idle
            self.server.receiver.count("idle_closed" if idle else "timed_out")
        self.server.receiver.log(self.address_string(), fmt % args)

    def finish(self):
        self.server.track(self.connection, False)
        try:
            super().finish()
        except OSError:
            pass
        if getattr(self, "_linger", False):
            self._drain()

    def _drain(self):
        # After a 413 the client may still be sending its body; closing with unread bytes
        # sends RST, which can destroy the answer before the client reads it. So stop writing,
        # then read and drop what arrives, bounded in bytes and time, as nginx does.
        try:
            self.connection.shutdown(socket.SHUT_WR)
            end, left = time.monotonic() + 2.0, 4 * self.server.limits.max_body
            while left > 0 and time.monotonic() < end:
                self.connection.settimeout(max(0.01, end - time.monotonic()))
                data = self.connection.recv(65536)
                if not data:
                    break
                left -= len(data)
        except OSError:
            pass

    def log_message(self, fmt, *args):
        self.server.receiver.log(self.address_string(), fmt % args)

    def send_error(self, code, message=None, explain=None):
        # Malformed request lines/headers: JSON answer, then close. A garbage request line
        # leaves the version at HTTP/0.9, which would suppress the status line.
        self.close_connection = True
        if not str(getattr(self, "request_version", "")).startswith("HTTP/1"):
            self.request_version = "HTTP/1.1"
        try:
            self._send(result(code, message or "Bad request"))
        except OSError:
            pass

    def _send(self, ans):
        if time.monotonic() >= self._conn_end:
            self.close_connection = True
        self.connection.settimeout(self.server.limits.write_s)
        self.send_response(ans.status)
        self.send_header("Content-Type", ans.ctype)
        if ans.cors:
            self.send_header("Access-Control-Allow-Origin", "*")
        for k, v in ans.headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(ans.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        # Headers and body leave in one write: a separate small body write would meet Nagle
        # plus delayed ACK and cost ~40 ms per keep-alive request.
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(ans.body)
        self.flush_headers()

    def _read_body(self):
        # -> bytes, or an Answer to send (and close) when the framing is unusable.
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            return self._read_chunked()
        cl = self.headers.get_all("Content-Length") or []
        if not cl:
            return b""
        if len(set(v.strip() for v in cl)) != 1 or not cl[0].strip().isdigit():
            self.close_connection = True
            return result(400, "Invalid Content-Length")
        n = int(cl[0])
        if n > self.server.limits.max_body:
            self.close_connection = True
            self._linger = True
            return result(413, "Request entity too large")
        data = self.rfile.read(n)
        if len(data) < n:
            raise ConnectionError("client closed mid-body")
        return data

    def _read_chunked(self):
        chunks, total = [], 0
        while True:
            line = self.rfile.readline(1024)
            if not line:
                raise ConnectionError("client closed mid-body")
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                self.close_connection = True
                return result(400, "Invalid chunked encoding")
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > self.server.limits.max_body:
                self.close_connection = True
                self._linger = True
                return result(413, "Request entity too large")
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _dispatch(self):
        rcv = self.server.receiver
        try:
            body = self._read_body()
        except (ConnectionError, OSError) as e:
            if isinstance(e, socket.timeout):
                rcv.count("timed_out")
            self.close_connection = True
            return
        peer = self.client_address[0]
        if isinstance(body, Answer):
            rcv.record_rejected(self.command, self.path, self.headers, body, peer)
            self._send(body)
            return
        ans = rcv.handle_http(self.command, self.path, self.headers, body, peer)
        if ans.action:
            self._no_answer(*ans.action)
            return
        self._send(ans)

    def _no_answer(self, mode, hang_s):
        self.close_connection = True
        if mode == "hang":
            self.server.receiver._stop.wait(hang_s)
            return
        # SO_LINGER 0 makes close() send RST instead of FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        # http.server flushes wfile after do_*; give it a harmless stand-in.
        self.wfile = io.BytesIO()

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_OPTIONS(self):
        rcv = self.server.receiver
        with rcv._lock:
            rcv._requests += 1
        path = self.path.partition("?")[0]
        if path == "/" or path.startswith("/_receiver"):
            # The receiver's own paths refuse every CORS preflight: no other origin may call
            # them from a browser.
            self._send(Answer(403, b"", cors=False))
            return
        self.send_response(200)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
        self.send_header("Access-Control-Allow-Headers",
                         "Origin, X-Requested-With, Content-Type, Accept")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _not_allowed(self):
        rcv = self.server.receiver
        with rcv._lock:
            rcv._requests += 1
        try:
            body = self._read_body()
        except (ConnectionError, OSError):
            self.close_connection = True
            return
        if isinstance(body, Answer):
            self._send(body)
            return
        self._send(result(405, "Method not allowed"))

    # Every other method (PUT, DELETE, PATCH, HEAD...) answers 405 like the server.
    def __getattr__(self, name):
        if name.startswith("do_"):
            return self._not_allowed
        raise AttributeError(name)
