# hostile_server.py - loopback HTTP/1.x peer that answers each request in a chosen hostile way,
# for the transport chaos tests and the SDK-level chaos tests (server side: CPython only).
#
# CPython tests start it in-process: srv = HostileServer(seed=1).start(); srv.url. A
# MicroPython run gets the URL from COUNTLY_TEST_HOSTILE (tools/run_tests.py starts it),
# because a MicroPython process cannot host a reliable server thread itself. The control
# client at the bottom of this file (ctl()) is portable and imports nothing of the server.
#
# Modes (MODES maps each to "processed": whether a real server would have stored the
# request's data, i.e. what a retry after it duplicates):
#   ok, ok_http10_close, ok_no_length_close, ok_chunked, ok_100_continue   well-formed 200s
#   nonjson_200, checksum_reject, s500, s429_ra2, s503_ra_garbage, s302      well-formed, not ok
#   bad_status_line, giant_headers, many_headers, header_no_colon, neg_content_length,
#   status_999, binary_garbage, chunked_garbage, chunked_huge_size             malformed
#   cl_short_hang, cl_short_close (Content-Length larger than the body, then hang / close),
#   cl_extra_bytes, cl_extra_smuggle (bytes after the body; the smuggled ones look like a
#   second "200 Success" response), ok_late_smuggle (a good answer, then 50 ms later a stray
#   "200 Success" on the idle kept-alive connection), body_10mb (10 MiB announced and
#   sent until the client closes), slow_drip (one byte per 0.2-0.9 s, seeded),
#   slow_drip_09 (one byte per 0.9 s), hang, hang_then_close_09, rst, close_no_answer,
#   close_mid_body
# A well-formed 200 Success echoes the request's `id` parameter when it has one
# ({"result":"Success","id":"7"}), so a client can tell its own answer from a stray one.
# Hangs end when the client closes (or after 20 s).
#
# Mode choice per request: the next queued mode if any (queue()), else the forced mode
# (force()), else a seeded random choice among `modes`.
#
# Log, one entry per request: {"n", "mode", "processed", "h", "method", "id", "listener",
# "conn"} where h = sha256 hex of the request's parameters (query string of a GET, body of
# a POST) without "&rr=..." (the retry counter), so an SDK test can check "every request the
# client counted as delivered was processed, none lost, order kept" by comparing hashes.
#
# Listeners: url (plain http), https_url (certificate for 127.0.0.1/localhost from the test
# CA in tests/support/tls) and wrong_host_url (certificate for another name, same CA). A
# client that refuses the certificate never reaches the request handler: tls_failed counts
# those handshakes and nothing is logged. blackhole_url never completes a connect (its
# accept queue is kept full, so the kernel drops new SYNs): a connect-timeout target.
#
# Control endpoint (on any listener, first request of its own connection, answered with
# Connection: close; JSON answers):
#   GET  /__hostile/log            {"log": [...], "connections": n, "tls_failed": n}
#   GET  /__hostile/processed      {"h": [hash[:16] of each processed request, in order]}
#   GET  /__hostile/ids            {"all": [id, ...], "processed": [id, ...]} (the "id"
#                                  parameters in arrival order: compact enough for a
#                                  MicroPython heap when the log is long)
#   GET  /__hostile/modes          {mode: processed}
#   GET  /__hostile/urls           {"http": url, "https": url, "https_wrong_host": url,
#                                   "blackhole": url}
#   GET  /__hostile/free_port      {"port": n} of a port nothing listens on (refused)
#   POST /__hostile/reset[/SEED]   clear log, counters, queue and forced mode; reseed
#   POST /__hostile/force/MODE     every later request gets MODE ("random" undoes it)
#   POST /__hostile/queue/M1,M2    the next requests get these modes, in order
# The same as methods: log(), reset(seed), force(mode), queue(modes), urls().
#
# CLI: python tests/support/hostile_server.py [--seed N] [--stdin-eof]  (prints the URL)

import json
import os
import socket
import sys

MODES = {
    "ok": True,
    "ok_http10_close": True,
    "ok_no_length_close": True,
    "ok_chunked": True,
    "ok_100_continue": True,
    "nonjson_200": False,
    "checksum_reject": False,
    "s500": False,
    "s429_ra2": False,
    "s503_ra_garbage": False,
    "s302": False,
    "bad_status_line": False,
    "giant_headers": False,
    "many_headers": False,
    "header_no_colon": False,
    "neg_content_length": False,
    "status_999": False,
    "binary_garbage": False,
    "chunked_garbage": False,
    "chunked_huge_size": False,
    "cl_short_hang": False,
    "cl_short_close": False,
    "cl_extra_bytes": True,
    "cl_extra_smuggle": True,
    "ok_late_smuggle": True,
    "body_10mb": True,
    "slow_drip": True,
    "slow_drip_09": True,
    "hang": False,
    "hang_then_close_09": False,
    "rst": False,
    "close_no_answer": False,
    "close_mid_body": True,
}

_HOLD_S = 20.0


def _ok_body(rid):
    if rid is None:
        return b'{"result":"Success"}'
    return b'{"result":"Success","id":"' + rid + b'"}'


def _ok(rid, extra=b""):
    b = _ok_body(rid)
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % len(b)) + b + extra


def _params(method, path, body):
    raw = body if method == "POST" else (path.split("?", 1)[1].encode() if "?" in path else b"")
    i = raw.find(b"&rr=")
    return raw[:i] if i >= 0 else raw


def _request_id(params):
    for kv in params.split(b"&"):
        if kv.startswith(b"id="):
            v = kv[3:]
            if v.isalnum() and len(v) <= 32:
                return v
    return None


class HostileServer:
    def __init__(self, seed=1, modes=None, host="127.0.0.1", tls_dir=None):
        import threading

        self.host = host
        self.modes = list(modes or MODES)
        self._seed = seed
        self._tls_dir = tls_dir or os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                "tls")
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listeners = {}
        self._socks = []
        self._conns = set()
        self.reset(seed)

    # -- lifecycle -----------------------------------------------------------------------
    @property
    def url(self):
        return self._url("http")

    @property
    def https_url(self):
        return self._url("https")

    @property
    def wrong_host_url(self):
        return self._url("https_wrong_host")

    @property
    def blackhole_url(self):
        return self._url("blackhole")

    def _url(self, name):
        scheme = "https" if name.startswith("https") else "http"
        return "%s://%s:%d" % (scheme, self.host, self._listeners[name][1])

    def urls(self):
        return {n: self._url(n) for n in self._listeners}

    def start(self):
        import ssl
        import threading

        contexts = {"http": None}
        for name, stem in (("https", "server"), ("https_wrong_host", "wrong_host")):
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(os.path.join(self._tls_dir, stem + ".pem"),
                                os.path.join(self._tls_dir, stem + ".key"))
            contexts[name] = ctx
        for name, ctx in contexts.items():
            ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.bind((self.host, 0))
            ls.listen(32)
            ls.settimeout(0.2)        # lets the accept loop notice stop()
            self._listeners[name] = (ls, ls.getsockname()[1])
            self._socks.append(ls)
            threading.Thread(target=self._accept_loop, args=(name, ls, ctx), daemon=True).start()
        self._blackhole()
        return self

    def _blackhole(self):
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.bind((self.host, 0))
        ls.listen(0)
        port = ls.getsockname()[1]
        self._socks.append(ls)
        for _ in range(4):      # fill the accept queue; later SYNs get no answer
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.setblocking(False)
            try:
                c.connect((self.host, port))
            except OSError:
                pass
            self._socks.append(c)
        self._listeners["blackhole"] = (ls, port)

    def stop(self):
        self._stop.set()
        for ls in self._socks:
            _quiet_close(ls)
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            _quiet_close(c)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- control -------------------------------------------------------------------------
    def reset(self, seed=None):
        import random

        with self._lock:
            if seed is not None:
                self._seed = seed
            self._rng = random.Random(self._seed)
            self._jitter = random.Random(self._seed + 1)
            self._queue = []
            self._force = None
            self._log = []
            self._n = 0
            self.connections = 0
            self.tls_failed = 0

    def force(self, mode):
        if mode not in (None, "random") and mode not in MODES:
            raise ValueError(mode)
        with self._lock:
            self._force = None if mode in (None, "random") else mode

    def queue(self, modes):
        for m in modes:
            if m not in MODES:
                raise ValueError(m)
        with self._lock:
            self._queue.extend(modes)

    def log(self):
        with self._lock:
            return [dict(e) for e in self._log]

    def _pick(self):
        if self._queue:
            return self._queue.pop(0)
        if self._force:
            return self._force
        return self.modes[self._rng.randrange(len(self.modes))]

    def _control(self, conn, path):
        parts = path[len("/__hostile/"):].split("?")[0].split("/")
        cmd = parts[0]
        arg = parts[1] if len(parts) > 1 else ""
        if cmd == "log":
            with self._lock:
                out = {"log": [dict(e) for e in self._log], "connections": self.connections,
                       "tls_failed": self.tls_failed}
        elif cmd == "ids":
            with self._lock:
                out = {"all": [e["id"] for e in self._log],
                       "processed": [e["id"] for e in self._log if e["processed"]]}
        elif cmd == "processed":   # the processed requests' hashes alone, cut to 16: small
            with self._lock:
                out = {"h": [e["h"][:16] for e in self._log if e["processed"]]}
        elif cmd == "modes":
            out = dict(MODES)
        elif cmd == "urls":
            out = self.urls()
        elif cmd == "free_port":
            f = socket.socket()
            f.bind((self.host, 0))
            out = {"port": f.getsockname()[1]}
            f.close()
        elif cmd == "reset":
            self.reset(int(arg) if arg else None)
            out = {"ok": True}
        elif cmd == "force":
            self.force(arg)
            out = {"ok": True}
        elif cmd == "queue":
            self.queue([m for m in arg.split(",") if m])
            out = {"ok": True}
        else:
            out = {"error": "unknown control " + cmd}
        body = json.dumps(out).encode()
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close"
                     b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)

    # -- serving -------------------------------------------------------------------------
    def _accept_loop(self, name, ls, ctx):
        import threading

        while not self._stop.is_set():
            try:
                conn, _ = ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(name, conn, ctx), daemon=True).start()

    def _serve(self, name, conn, ctx):
        with self._lock:
            self._conns.add(conn)
        try:
            conn.settimeout(10)
            if ctx is not None:
                try:
                    conn = ctx.wrap_socket(conn, server_side=True)
                except (OSError, ValueError):
                    with self._lock:
                        self.tls_failed += 1    # the client refused us: nothing was read
                    return
            first = True
            cno = None
            pending = b""
            while not self._stop.is_set():
                req = _read_request(conn, pending)
                if req is None:
                    return
                method, path, body, pending = req
                if first and path.startswith("/__hostile/"):
                    self._control(conn, path)
                    return
                if first:
                    with self._lock:
                        self.connections += 1
                        cno = self.connections
                first = False
                params = _params(method, path, body)
                import hashlib

                with self._lock:
                    mode = self._pick()
                    n = self._n
                    self._n += 1
                    self._log.append({"n": n, "mode": mode, "processed": MODES[mode],
                                      "h": hashlib.sha256(params).hexdigest(),
                                      "method": method, "listener": name, "conn": cno,
                                      "id": (_request_id(params) or b"").decode()})
                try:
                    keep = self._answer(conn, mode, _request_id(params))
                except OSError:
                    return
                if not keep:
                    return
        except (OSError, ValueError):
            return
        finally:
            _quiet_close(conn)
            with self._lock:
                self._conns.discard(conn)

    def _hold(self, conn, seconds=_HOLD_S):
        # wait until the client gives up (EOF or reset) or `seconds` pass
        import time

        end = time.monotonic() + seconds
        conn.settimeout(0.05)
        while not self._stop.is_set() and time.monotonic() < end:
            try:
                if not conn.recv(4096):
                    return
            except socket.timeout:
                continue
            except OSError:
                return

    def _drip(self, conn, data, delay=None):

        for i in range(len(data)):
            conn.sendall(data[i:i + 1])
            with self._lock:
                d = delay if delay is not None else self._jitter.uniform(0.2, 0.9)
            if self._stop.wait(d):
                return

    def _answer(self, conn, mode, rid):
        # -> True to keep the connection for another request
        s = conn.sendall
        if mode == "ok":
            s(_ok(rid))
            return True
        if mode == "ok_http10_close":
            s(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + _ok_body(rid))
            return False
        if mode == "ok_no_length_close":
            s(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + _ok_body(rid))
            return False
        if mode == "ok_chunked":
            b = _ok_body(rid)
            s(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
              + b"5\r\n" + b[:5] + b"\r\n" + b"%x;ext=1\r\n" % (len(b) - 5) + b[5:]
              + b"\r\n0\r\nX-Trailer: t\r\n\r\n")
            return True
        if mode == "ok_100_continue":
            s(b"HTTP/1.1 100 Continue\r\n\r\n" + _ok(rid))
            return True
        if mode == "nonjson_200":
            s(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n<html>ok<")
            return True
        if mode == "checksum_reject":
            b = b'{"result":"Request does not match checksum"}'
            s(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(b) + b)
            return True
        if mode == "s500":
            s(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2\r\n\r\n{}")
            return True
        if mode == "s429_ra2":
            s(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 2\r\nContent-Length: 2\r\n\r\n{}")
            return True
        if mode == "s503_ra_garbage":
            s(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: Wed, 21 Oct 2099 07:28:00 GMT"
              b"\r\nContent-Length: 2\r\n\r\n{}")
            return True
        if mode == "s302":
            s(b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/\r\nContent-Length: 0\r\n\r\n")
            return True
        if mode == "bad_status_line":
            s(b"HTPP/9 200 OKAY\r\n\r\n" + _ok_body(rid))
            return False
        if mode == "giant_headers":
            s(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 100000 + b"\r\nContent-Length: 20\r\n\r\n"
              + _ok_body(None))
            return False
        if mode == "many_headers":
            s(b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(500))
              + b"Content-Length: 20\r\n\r\n" + _ok_body(None))
            return False
        if mode == "header_no_colon":
            s(b"HTTP/1.1 200 OK\r\nthis is not a header\r\nContent-Length: 20\r\n\r\n"
              + _ok_body(None))
            return False
        if mode == "neg_content_length":
            s(b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n" + _ok_body(None))
            return False
        if mode == "status_999":
            s(b"HTTP/1.1 999 Weird\r\nContent-Length: 20\r\n\r\n" + _ok_body(None))
            return True
        if mode == "binary_garbage":
            with self._lock:
                junk = bytes(self._jitter.getrandbits(8) for _ in range(3000))
            s(junk)
            return False
        if mode == "chunked_garbage":
            s(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\ngarbage\r\n")
            return False
        if mode == "chunked_huge_size":
            s(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFF\r\n"
              + _ok_body(None))
            self._hold(conn)
            return False
        if mode == "cl_short_hang":
            s(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n" + _ok_body(rid))
            self._hold(conn)
            return False
        if mode == "cl_short_close":
            s(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n" + _ok_body(rid))
            return False
        if mode == "cl_extra_bytes":
            s(_ok(rid, extra=b"\x00junk after the body\r\n"))
            return True
        if mode == "cl_extra_smuggle":
            # a second, unsolicited "200 Success" rides behind the answer on a kept-alive
            # connection: a client must not take it as the answer to its NEXT request
            s(_ok(rid, extra=_ok(None)))
            return True
        if mode == "ok_late_smuggle":
            s(_ok(rid))
            if not self._stop.wait(0.05):
                s(_ok(None))
            return True
        if mode == "body_10mb":
            total = 10 * 1024 * 1024
            s(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % total)
            chunk = b"x" * 65536
            for _ in range(total // len(chunk)):
                if self._stop.is_set():
                    break
                s(chunk)       # raises once the client has closed
            return False
        if mode == "slow_drip":
            self._drip(conn, _ok(rid))
            return False
        if mode == "slow_drip_09":
            self._drip(conn, _ok(rid), 0.9)
            return False
        if mode == "hang":
            self._hold(conn)
            return False
        if mode == "hang_then_close_09":
            self._hold(conn, 0.95)
            return False
        if mode == "rst":
            import struct

            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        if mode == "close_no_answer":
            return False
        if mode == "close_mid_body":
            s(b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n" + _ok_body(None)[:7])
            return False
        raise ValueError(mode)


def _read_request(conn, buf):
    # -> (method, path, body, bytes after it) or None when the client closed or is garbage
    while b"\r\n\r\n" not in buf:
        d = conn.recv(65536)
        if not d:
            return None
        buf += d
        if len(buf) > 1 << 20:
            return None
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    try:
        method, path, _ = lines[0].decode("latin-1").split(" ", 2)
    except ValueError:
        return None
    cl = 0
    for ln in lines[1:]:
        k, _, v = ln.partition(b":")
        if k.strip().lower() == b"content-length":
            cl = int(v.strip())
    while len(rest) < cl:
        d = conn.recv(65536)
        if not d:
            return None
        rest += d
    return method, path, rest[:cl], rest[cl:]


def _quiet_close(s):
    try:
        s.close()
    except OSError:
        pass


# -- portable control client: hostile_ctl.py (imported alone on MicroPython) ----------------
from hostile_ctl import ctl  # noqa: E402,F401


def main(argv):
    seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 1
    srv = HostileServer(seed=seed).start()
    sys.stdout.write(srv.url + "\n")
    sys.stdout.flush()
    try:
        if "--stdin-eof" in argv:
            sys.stdin.read()
        else:
            import time

            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
