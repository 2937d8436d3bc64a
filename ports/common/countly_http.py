# countly_http.py - small keep-alive HTTP/1.1 client for CPython and MicroPython (sync).
#
# Why not micropython-lib `requests`: released firmware ships 0.10.x, which speaks HTTP/1.0
# with Connection: close (a TCP + TLS handshake per request), raises on chunked bodies and
# leaks the socket on ValueError. This client keeps one persistent connection, parses
# strictly (countly_http_response.py) and closes its socket on every error path.
#
# Contract of HTTPClient.exchange(method, path, body=None, content_type=None, max_body=None)
# -> (status, retry_after_s or None, body bytes):
#   * one call is one exchange bounded by one absolute deadline: connect (TCP) within
#     timeout_ms, then the TLS handshake, the request and the whole response within
#     timeout_ms counted from the end of the connect (or from the call, on a kept-alive
#     connection). Every wait gets the time left, so a peer dripping a byte at a time cannot
#     stretch it;
#   * every failure is an OSError (malformed or extra bytes, TLS and memory errors are
#     converted) and the connection is closed when one is raised; 3xx/4xx/5xx that are
#     well-formed are answers, returned with their status;
#   * exactly one response is read per request. Bytes after it, or bytes (or a close)
#     arriving on an idle kept-alive connection, mean the stream cannot be trusted: the
#     connection is closed (and a new one opened for the next request), never parsed;
#   * a kept-alive connection that fails before any response byte (the server closed it
#     as we sent) is reconnected and the request resent once, inside the same deadline; a
#     fresh connection is never retried here (the caller decides);
#   * bodies beyond max_body (default 4096, per client or per call) are cut, the connection
#     is closed and `truncated` is True until the next exchange: the status is real, the
#     body is not whole, so a caller should not take it as a complete answer;
#   * getaddrinfo runs once per client (cached); it is the one step that can block beyond
#     the deadline (DNS) and does not for a numeric host.
# `insecure` is True for https when the certificate is not verified (tls_verify=False); the
# TLS policy is in countly_tls.py. Construction does no network I/O; a TLS setting that
# cannot be honoured raises ValueError there.
#
# Memory: one 1 KiB buffer and one response parser per client, allocated once. A request is
# built into that buffer when it fits (a larger one gets its own for that exchange); on
# MicroPython the socket is non-blocking and waits in one poll object, reads go into the
# buffer (readinto), and str paths/bodies are copied without an encoded intermediate.

import errno
import socket
import sys

import countly_http_wire as wire

_MP = sys.implementation.name == "micropython"
_RECV_BUF = 1024        # receive buffer; also holds a request that fits


def pem_to_der_list(data):
    # PEM (or DER) certificates -> list of DER; kept for callers of the earlier layout
    import countly_tls

    return countly_tls.der_list(data)


def _timeout_s(deadline):
    # CPython: the socket timeout for the next wait = the time left
    left = wire.left_ms(deadline)
    if left <= 0:
        raise wire.timed_out()
    return left / 1000


class HTTPClient(wire.Client):
    """Keep-alive HTTP/1.1 client bound to one server URL."""

    _handshake = False    # CPython: TLS handshake still to do

    # -- public ----------------------------------------------------------------------------
    def exchange(self, method, path, body=None, content_type=None, max_body=None):
        """Send one request; -> (status, retry_after_s or None, body bytes).

        Raises OSError on any failure, after closing the connection."""
        reuse_deadline = wire.deadline(self.timeout_ms)
        self.truncated = False
        try:
            if self._sock is not None and not self._idle_clean():
                self.close()      # closed by the server, or stray bytes: start afresh
            if self._buf is None:
                self._buf = bytearray(_RECV_BUF)
            # built into the receive buffer when it fits: nothing is read before it is sent,
            # and a resend happens only when no response byte came in
            req = wire.build_request(self._buf, method, self._base, self._mid, path, body,
                                     content_type)
            cap = self.max_body if max_body is None else int(max_body)
            if self._sock is None:
                self._connect(self.timeout_ms)
                deadline = wire.deadline(self.timeout_ms)
                reused = False
            else:
                deadline = reuse_deadline
                reused = True
            try:
                return self._roundtrip(req, method, cap, deadline)
            except EOFError:
                if not reused:
                    raise OSError(errno.ECONNRESET, "connection closed before response")
            # The kept-alive connection died before any answer byte: almost always the server
            # closing an idle connection as the request arrived. One resend, byte-identical,
            # inside the same deadline; a server that did process it sees it twice, as after
            # any lost answer.
            self.close()
            self.resends += 1
            left = wire.left_ms(deadline)
            if left <= 0:
                raise wire.timed_out()
            self._connect(left)
            try:
                return self._roundtrip(req, method, cap, deadline)
            except EOFError:
                raise OSError(errno.ECONNRESET, "connection closed before response")
        except Exception as e:
            self.close()
            raise wire.to_oserror(e)
        except BaseException:
            self.close()  # KeyboardInterrupt etc.: never leave a half-read socket
            raise

    def close(self):
        s = self._sock
        self._sock = None
        self._poll = None
        self._pos = self._end = 0
        if s is not None:
            try:
                s.close()
            except Exception:
                pass

    # -- connection --------------------------------------------------------------------------
    def _connect(self, budget_ms):
        self.close()
        addr = self._address()
        sock = socket.socket(addr[0], addr[1], addr[2])
        try:
            sock.settimeout(budget_ms / 1000)
            sock.connect(addr[-1])
            self.connections += 1
            wire.no_delay(sock)
            if self.scheme == "https":
                if self._ctx is None:
                    import countly_tls

                    self._ctx = countly_tls.tls_context(self._verify, self.ca_data, self._bundle)
                # the handshake runs inside the exchange deadline (first write on
                # MicroPython, do_handshake() on CPython); no request byte goes out before
                # the certificate and the host name have been checked
                sock = self._ctx.wrap_socket(sock, server_hostname=self.host,
                                             do_handshake_on_connect=False)
                self._handshake = True
            if _MP:
                import select
                sock.setblocking(False)
                self._poll = select.poll()
                self._poll.register(sock, select.POLLIN)
        except BaseException:
            try:
                sock.close()
            except Exception:
                pass
            raise
        self._sock = sock
        self._pos = self._end = 0

    def _idle_clean(self):
        # A kept-alive connection must be silent between exchanges: data or a close there
        # means a stray or smuggled answer or an expired connection. A readable TLS socket
        # may only carry TLS housekeeping (a session ticket): the non-blocking read then
        # yields no data and the connection stays.
        if self._pos < self._end:
            return False
        s = self._sock
        try:
            if _MP:
                for _ in self._poll.ipoll(0):
                    return s.readinto(self._buf) is None
                return True
            import select
            if not select.select([s], [], [], 0)[0]:
                return True
            if self.scheme != "https":
                return False
            s.setblocking(False)
            s.recv_into(self._buf)
            return False
        except OSError as e:
            return e.__class__.__name__ == "SSLWantReadError"

    # -- exchange ------------------------------------------------------------------------------
    def _roundtrip(self, req, method, cap, deadline):
        try:
            self._send(req, deadline)
        except OSError as e:
            if wire.is_reset(e):
                raise EOFError()
            raise
        resp = self._response
        resp.reset(method, cap)
        while not resp.done:
            if self._pos >= self._end:
                try:
                    n = self._recv(deadline)
                except OSError as e:
                    if not resp.started and wire.is_reset(e):
                        raise EOFError()
                    raise
                if n == 0:
                    if not resp.started:
                        raise EOFError()
                    resp.eof()
                    break
            self._pos = resp.feed(self._buf, self._pos, self._end)
        self.truncated = resp.truncated
        if resp.truncated or not resp.keep_alive:
            self.close()
        elif self._pos < self._end:
            raise ValueError("bytes after the response")
        self.exchanges += 1
        return resp.status, resp.retry_after, resp.body()

    def _send(self, parts, deadline):
        s = self._sock
        if not _MP:
            s.settimeout(_timeout_s(deadline))
            if self._handshake:
                s.do_handshake()
                self._handshake = False
            for mv in parts:
                s.sendall(mv)
            return
        import select
        p = self._poll
        for mv in parts:
            off = 0
            n = len(mv)
            while off < n:
                w = s.write(mv[off:])
                if w:
                    off += w
                    continue
                p.modify(s, select.POLLOUT)
                self._wait(deadline)
                p.modify(s, select.POLLIN)

    def _recv(self, deadline):
        # -> bytes read into self._buf (0: the peer closed)
        s = self._sock
        if not _MP:
            s.settimeout(_timeout_s(deadline))
            n = s.recv_into(self._buf)
        else:
            while True:
                n = s.readinto(self._buf)
                if n is not None:
                    break
                self._wait(deadline)
        self._pos, self._end = 0, n
        return n

    def _wait(self, deadline):
        # MicroPython: until the socket is ready or the deadline passes
        left = wire.left_ms(deadline)
        if left <= 0:
            raise wire.timed_out()
        for _ in self._poll.ipoll(left):
            return
        if wire.left_ms(deadline) <= 0:
            raise wire.timed_out()
