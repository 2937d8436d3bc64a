# scripted_server.py - loopback HTTP/1.1 peer with scriptable answers (CPython only).
#
# Used by tests/portable/test_transport.py on both interpreters: CPython starts
# it in-process, a MicroPython run gets its URL from COUNTLY_TEST_SERVER because
# a MicroPython process cannot host a reliable server thread itself.
#
# Answers are consumed one per request from a FIFO; when it is empty the
# default answer is 200 {"result":"Success"} with keep-alive. An answer is a
# dict with optional keys:
#   status (int), reason (str), headers ([[k, v], ...]), body (str, latin-1),
#   body_len (int: body of that many b"x" instead of "body"),
#   chunked (bool: send body with Transfer-Encoding: chunked),
#   chunk_size (int, default 7),
#   close (bool: send "Connection: close" and close after the answer),
#   drop_after (bool: answer as keep-alive, then close silently, like a
#               server whose idle timeout expired),
#   no_length (bool: no Content-Length, body delimited by closing),
#   hang (float seconds: read the request, send nothing, then close),
#   rst (bool: read the request, then reset the connection),
#   raw (str latin-1: send these bytes verbatim, then close).
#
# Control endpoints (never counted as connections or requests when they are
# the first request on a connection; drive them with Connection: close):
#   POST /__ctl/script  body = JSON list of answers (appended to the FIFO)
#   POST /__ctl/reset   clears FIFO, counters and recorded requests
#   GET  /__ctl/stats   {"connections": n, "requests": n, "log": [...]} where
#                       log items are {"method","path","headers","body_hex"}
#   GET  /__ctl/free_port  {"port": n} of a port nothing listens on
#
# CLI: python tests/support/scripted_server.py --port 0 [--tls CERT KEY]
# prints the URL on the first stdout line and serves until killed or stdin EOF
# (with --stdin-eof).

import binascii
import json
import socket
import ssl
import struct
import sys
import threading
import time

_DEFAULT = {"status": 200, "body": '{"result":"Success"}'}
_REASONS = {200: "OK", 204: "No Content", 400: "Bad Request", 429: "Too Many Requests",
            500: "Internal Server Error", 503: "Service Unavailable"}


class _Request:
    def __init__(self, method, path, headers, body):
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body

    def as_json(self):
        return {"method": self.method, "path": self.path, "headers": self.headers,
                "body_hex": binascii.hexlify(self.body).decode()}


class ScriptedServer:
    def __init__(self, host="127.0.0.1", port=0, certfile=None, keyfile=None):
        self.host = host
        self.port = port
        self._tls = None
        if certfile:
            self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._tls.load_cert_chain(certfile, keyfile)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._script = []
        self._conns = []
        self.connections = 0
        self.requests = []
        self._listener = None
        self._thread = None

    # -- lifecycle -------------------------------------------------------
    @property
    def url(self):
        scheme = "https" if self._tls else "http"
        return "%s://%s:%d" % (scheme, self.host, self.port)

    def start(self):
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((self.host, self.port))
        ls.listen(16)
        ls.settimeout(0.2)  # lets the accept loop notice stop()
        self.port = ls.getsockname()[1]
        self._listener = ls
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(2)
        if self._listener:
            self._listener.close()
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            _quiet_close(c)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- scripting -------------------------------------------------------
    def script(self, answers):
        with self._lock:
            self._script.extend(answers)

    def reset(self):
        with self._lock:
            self._script = []
            self.connections = 0
            self.requests = []

    def stats(self):
        with self._lock:
            return {"connections": self.connections, "requests": len(self.requests),
                    "log": [r.as_json() for r in self.requests]}

    def _next_answer(self):
        with self._lock:
            return dict(self._script.pop(0)) if self._script else dict(_DEFAULT)

    # -- serving ---------------------------------------------------------
    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._serve_conn, args=(conn,), daemon=True)
            t.start()

    def _serve_conn(self, conn):
        with self._lock:
            self._conns.append(conn)
        counted = False
        try:
            conn.settimeout(30)
            if self._tls:
                try:
                    conn = self._tls.wrap_socket(conn, server_side=True)
                except (OSError, ssl.SSLError):
                    return  # client rejected our certificate: expected in TLS tests
            reader = conn.makefile("rb")
            while not self._stop.is_set():
                req = _read_request(reader)
                if req is None:
                    return
                if req.path.startswith("/__ctl/"):
                    if not self._control(conn, req):
                        return
                    continue
                if not counted:
                    # count here so control-only connections never show up
                    counted = True
                    with self._lock:
                        self.connections += 1
                with self._lock:
                    self.requests.append(req)
                answer = self._next_answer()
                if _client_wants_close(req):
                    answer["close"] = True   # HTTP/1.0 or Connection: close, as real servers do
                if not self._answer(conn, answer):
                    return
        except OSError:
            return
        finally:
            _quiet_close(conn)
            with self._lock:
                if conn in self._conns:
                    self._conns.remove(conn)

    def _control(self, conn, req):
        what = req.path[len("/__ctl/"):].split("?")[0]
        if what == "script":
            self.script(json.loads(req.body.decode() or "[]"))
            out = {"ok": True}
        elif what == "reset":
            self.reset()
            out = {"ok": True}
        elif what == "stats":
            out = self.stats()
        elif what == "free_port":
            out = {"port": _free_port(self.host)}
        else:
            out = {"error": "unknown control"}
        close = _client_wants_close(req)
        body = json.dumps(out).encode()
        head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        head += "Content-Length: %d\r\n" % len(body)
        if close:
            head += "Connection: close\r\n"
        conn.sendall(head.encode() + b"\r\n" + body)
        return not close

    def _answer(self, conn, a):
        """Send one scripted answer. Returns False when the connection must end."""
        if a.get("hang"):
            self._stop.wait(float(a["hang"]))
            return False
        if a.get("rst"):
            _reset(conn)
            return False
        if "raw" in a:
            conn.sendall(a["raw"].encode("latin-1"))
            return False
        status = int(a.get("status", 200))
        reason = a.get("reason", _REASONS.get(status, "Status"))
        if "body_len" in a:
            body = b"x" * int(a["body_len"])
        else:
            body = a.get("body", "").encode("latin-1")
        lines = ["HTTP/1.1 %d %s" % (status, reason)]
        for k, v in a.get("headers", []):
            lines.append("%s: %s" % (k, v))
        if a.get("chunked"):
            lines.append("Transfer-Encoding: chunked")
            body = _chunk(body, int(a.get("chunk_size", 7)))
        elif not a.get("no_length"):
            lines.append("Content-Length: %d" % len(body))
        close = bool(a.get("close") or a.get("no_length"))
        if a.get("close"):
            lines.append("Connection: close")
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        if close or a.get("drop_after"):
            if a.get("drop_after"):
                time.sleep(0.05)  # let the client finish reading before the FIN
            return False
        return True


def _read_request(reader):
    line = reader.readline(8192)
    if not line:
        return None
    parts = line.decode("latin-1").strip().split(" ")
    if len(parts) != 3:
        return None
    method, path, version = parts
    headers = {}
    while True:
        h = reader.readline(8192)
        if not h or h in (b"\r\n", b"\n"):
            break
        k, _, v = h.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0") or 0)
    body = reader.read(n) if n else b""
    req = _Request(method, path, headers, body)
    req.version = version
    return req


def _client_wants_close(req):
    return req.headers.get("connection", "").lower() == "close" or req.version == "HTTP/1.0"


def _chunk(body, size):
    out = b""
    for i in range(0, len(body), size):
        part = body[i:i + size]
        out += b"%x\r\n" % len(part) + part + b"\r\n"
    return out + b"0\r\n\r\n"


def _reset(conn):
    # SO_LINGER with a zero timeout makes close() send RST instead of FIN
    try:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    _quiet_close(conn)


def _quiet_close(conn):
    try:
        conn.close()
    except OSError:
        pass


def _free_port(host):
    s = socket.socket()
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main(argv):
    port = 0
    cert = key = None
    wait_stdin = False
    i = 0
    while i < len(argv):
        if argv[i] == "--port":
            port = int(argv[i + 1])
            i += 1
        elif argv[i] == "--tls":
            cert, key = argv[i + 1], argv[i + 2]
            i += 2
        elif argv[i] == "--stdin-eof":
            wait_stdin = True
        i += 1
    srv = ScriptedServer(port=port, certfile=cert, keyfile=key).start()
    sys.stdout.write(srv.url + "\n")
    sys.stdout.flush()
    try:
        if wait_stdin:
            sys.stdin.read()
        else:
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
