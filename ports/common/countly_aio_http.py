# countly_aio_http.py - the keep-alive HTTP/1.1 client on asyncio (CPython and MicroPython).
#
# Same contract as countly_http.HTTPClient, awaited:
#   await client.exchange(method, path, body=None, content_type=None, max_body=None)
#       -> (status, retry_after_s or None, body bytes); every failure an OSError
#   client.close()          sync: drops the connection at once (safe from any code)
#   await client.aclose()   close() and, on CPython, waits until the transport is closed
#   client.insecure, client.truncated, client.connections, client.exchanges
# One exchange = connect within timeout_ms, then the request and the whole response within
# timeout_ms from the end of the connect (from the call on a kept-alive connection), one
# resend on a kept-alive connection found dead before any response byte, inside the same
# deadline. Parsing (countly_http_response), request building (countly_http_wire) and the TLS
# policy (countly_tls) are shared with the sync client. Cancelling exchange() (e.g.
# asyncio.wait_for around it) closes the connection: a half-read response never stays on a
# kept-alive socket.
#
# Blocking: getaddrinfo is the one blocking step. It runs once per client (cached) and does
# not block for a numeric host; give the server as an IP where DNS may hang. Everything
# else waits in the event loop, so other tasks keep running during connect, the TLS
# handshake and every read.
#
# Runtimes: CPython uses asyncio streams (open_connection with ssl= and server_hostname=;
# there the TLS handshake is part of the connect). MicroPython 1.29's open_connection resolves
# the host on every call and cannot be cancelled without leaking its socket, so this module
# opens the non-blocking socket itself and waits on it through the scheduler's I/O queue
# (asyncio.core._io_queue, what MicroPython's own streams use); the TLS handshake runs inside
# the exchange deadline there, and reads go into one reused buffer.

import errno
import sys

import countly_http_wire as wire

_MP = sys.implementation.name == "micropython"
_RECV_BUF = 1024        # as countly_http


class AsyncHTTPClient(wire.Client):
    """Keep-alive HTTP/1.1 client bound to one server URL, for asyncio."""

    _reader = None        # CPython: asyncio streams
    _writer = None
    _data = None          # CPython: the last chunk read (bytes)

    # -- public ------------------------------------------------------------------------------
    async def exchange(self, method, path, body=None, content_type=None, max_body=None):
        reuse_deadline = wire.deadline(self.timeout_ms)
        self.truncated = False
        try:
            if self._open() and not self._idle_clean():
                self.close()       # closed by the server, or stray bytes: start afresh
            if self._buf is None:
                self._buf = bytearray(_RECV_BUF)
            req = wire.build_request(self._buf, method, self._base, self._mid, path, body,
                                     content_type)
            if not _MP:
                req = (b"".join(bytes(p) for p in req),)   # the stream may keep what it gets
            cap = self.max_body if max_body is None else int(max_body)
            if not self._open():
                await self._connect(self.timeout_ms)
                deadline = wire.deadline(self.timeout_ms)
                reused = False
            else:
                deadline = reuse_deadline
                reused = True
            try:
                return await self._within(self._roundtrip(req, method, cap), deadline)
            except EOFError:
                if not reused:
                    raise OSError(errno.ECONNRESET, "connection closed before response")
            # a kept-alive connection died before answering: one resend, same deadline
            self.close()
            self.resends += 1
            left = wire.left_ms(deadline)
            if left <= 0:
                raise wire.timed_out()
            await self._connect(left)
            try:
                return await self._within(self._roundtrip(req, method, cap), deadline)
            except EOFError:
                raise OSError(errno.ECONNRESET, "connection closed before response")
        except Exception as e:
            self.close()
            raise wire.to_oserror(e)
        except BaseException:
            self.close()       # cancelled: never leave a half-read connection
            raise

    def close(self):
        s, w = self._sock, self._writer
        self._sock = self._poll = self._reader = self._writer = self._data = None
        self._pos = self._end = 0
        try:
            if s is not None:
                s.close()
            if w is not None:
                w.close()
        except Exception:
            pass

    async def aclose(self):
        w = self._writer
        self.close()
        if w is not None:
            try:
                await w.wait_closed()
            except Exception:
                pass

    # -- connection ----------------------------------------------------------------------------
    def _open(self):
        return self._sock is not None or self._writer is not None

    async def _context(self):
        if self.scheme != "https":
            return None
        if self._ctx is None:
            import countly_tls

            ctx = countly_tls.new_context(self._verify, self.ca_data)
            if self._bundle is not None and self._verify:
                import asyncio

                for _ in countly_tls.load_bundle_steps(ctx, self._bundle):
                    await asyncio.sleep(0)     # let other tasks run between steps
            self._ctx = ctx
        return self._ctx

    async def _connect(self, budget_ms):
        self.close()
        addr = self._address()
        ctx = await self._context()
        if not _MP:
            import asyncio

            # the numeric address: asyncio resolves nothing; the name is still the one TLS
            # checks the certificate against
            r, w = await _cpy_within(asyncio.open_connection(
                addr[-1][0], addr[-1][1], ssl=ctx,
                server_hostname=self.host if ctx else None), budget_ms)
            self._reader, self._writer = r, w
            self.connections += 1
            return
        import select
        import socket

        s = socket.socket(addr[0], addr[1], addr[2])
        try:
            s.setblocking(False)
            try:
                s.connect(addr[-1])
            except OSError as e:
                if e.args[0] not in (errno.EINPROGRESS, errno.EAGAIN):
                    raise
            await self._within(_writable(s), wire.deadline(budget_ms))
            p = select.poll()
            p.register(s, select.POLLOUT)
            for _, ev in p.ipoll(0):
                if ev & (select.POLLERR | select.POLLHUP):
                    s.connect(addr[-1])    # the failed connect: raises its error
                    raise OSError(errno.ECONNREFUSED, "connect failed")
            self.connections += 1
            wire.no_delay(s)
            if ctx is not None:
                p.unregister(s)
                s = ctx.wrap_socket(s, server_hostname=self.host, do_handshake_on_connect=False)
                s.setblocking(False)
                p.register(s, select.POLLIN)
            else:
                p.modify(s, select.POLLIN)
        except BaseException:
            try:
                s.close()
            except Exception:
                pass
            raise
        self._sock, self._poll = s, p

    def _idle_clean(self):
        # silent between exchanges, as in countly_http (TLS housekeeping alone is no data)
        if self._pos < self._end:
            return False
        if _MP:
            try:
                for _ in self._poll.ipoll(0):
                    return self._sock.readinto(self._buf) is None
            except OSError:
                return False
            return True
        r, w = self._reader, self._writer
        if r.at_eof() or w.is_closing() or getattr(r, "_buffer", None):
            # CPython's StreamReader has no public "bytes waiting": its buffer is where
            # bytes read while the loop ran would sit
            return False
        # bytes that arrived since the loop last ran are still in the socket (on TLS that
        # may be housekeeping only: one needless reconnect, never a wrong answer)
        import select

        sock = w.get_extra_info("socket")
        return sock is None or not select.select([sock], [], [], 0)[0]

    # -- exchange --------------------------------------------------------------------------------
    async def _within(self, coro, deadline):
        left = wire.left_ms(deadline)
        if left <= 0:
            coro.close()
            raise wire.timed_out()
        import asyncio

        try:
            if _MP:
                return await asyncio.wait_for_ms(coro, left)
            return await asyncio.wait_for(coro, left / 1000)
        except asyncio.TimeoutError:
            raise wire.timed_out()

    async def _roundtrip(self, req, method, cap):
        try:
            await self._send(req)
        except OSError as e:
            if wire.is_reset(e):
                raise EOFError()
            raise
        resp = self._response
        resp.reset(method, cap)
        while not resp.done:
            if self._pos >= self._end:
                try:
                    n = await self._recv()
                except OSError as e:
                    if not resp.started and wire.is_reset(e):
                        raise EOFError()
                    raise
                if n == 0:
                    if not resp.started:
                        raise EOFError()
                    resp.eof()
                    break
            buf = self._buf if _MP else self._data
            self._pos = resp.feed(buf, self._pos, self._end)
        self.truncated = resp.truncated
        if resp.truncated or not resp.keep_alive:
            self.close()
        elif self._pos < self._end:
            raise ValueError("bytes after the response")
        self.exchanges += 1
        self._data = None
        return resp.status, resp.retry_after, resp.body()

    async def _send(self, parts):
        if not _MP:
            for mv in parts:
                self._writer.write(mv)
            await self._writer.drain()
            return
        s = self._sock
        for mv in parts:
            off = 0
            n = len(mv)
            while off < n:
                w = s.write(mv[off:])
                if w:
                    off += w
                else:
                    await _writable(s)

    async def _recv(self):
        if not _MP:
            self._data = await self._reader.read(_RECV_BUF)
            n = len(self._data)
        else:
            s = self._sock
            while True:
                n = s.readinto(self._buf)
                if n is not None:
                    break
                await _readable(s)
        self._pos, self._end = 0, n
        return n


async def _cpy_within(coro, budget_ms):
    import asyncio

    try:
        return await asyncio.wait_for(coro, budget_ms / 1000)
    except asyncio.TimeoutError:
        raise wire.timed_out()


# MicroPython: park the task until the socket is ready (what asyncio's own Stream does)
def _readable(s):
    from asyncio import core

    yield core._io_queue.queue_read(s)


def _writable(s):
    from asyncio import core

    yield core._io_queue.queue_write(s)
