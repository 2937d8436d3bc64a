# sender.py - delivery: which queued request goes out when, and what its answer does to it.
#
# The transport (from the port) does one bounded HTTP exchange; everything else is decided here:
# the online gate, the growing cooldown after a failure, pausing on a configuration problem,
# dropping a request the server will never accept, setting aside a record that cannot be built.
# Order is kept: only the oldest request is ever sent. A send is split in prepare() and
# finish() so the blocking tick() and the asyncio atick() share every rule.

from .compat import call_cold, const
from .log import ERROR
from .request import flag_value, hour_dow_tail, retime_event, time_params
from .sendbuf import shared
from .wire import quote

# Outcomes (policy.py says which answer gets which); the common one needs no module load.
OK = const(0)
RETRY = const(1)
PAUSE = const(2)
DROP = const(3)
REFUSED = const(4)
_EQ_LAG = const(16)  # events requests delivered between two acks of the event queue
_SUCCESS = b'{"result":"Success"}'
_M = "Sender"
_MARKER = b'"timestamp":"U'  # an event recorded before the wall clock was valid
_TEMP_TAG = b"&device_id=CLYTemporaryDeviceID&"  # device_id.TEMP_ID, held until a real ID


class Sender:
    def __init__(self, core):
        self._core = core
        self._transport = None
        self._atransport = None  # the asyncio transport, made on the first atick()
        self._buf = None
        self._wait_from = 0
        self._wait_ms = 0  # while > 0, no send until ticks since _wait_from reach it
        self._hard = False  # the wait is a pause or a Retry-After: flush() waits too
        self._fails = 0  # consecutive failed exchanges: the cooldown doubles with each
        self._pauses = 0
        self._refused = (0, 0)  # (seq, refusals) of the request at the head
        self._unacked = None  # (seq, events through) delivered but not yet acked on flash
        self._eq_through = 0  # delivered events not acked in the event queue yet (_ack)
        self._eq_lag = 0
        self.delivered = self.retried = self.dropped = self.poisoned = 0
        self.last_status = 0
        self.last_reason = None
        self.paused_reason = None
        self.failed = None  # (status, first 1000 bytes of the answer) of the last failed send

    # ---- transport ----
    def open(self):
        # Builds the transport (no network I/O): done at init so the HTTP client's code and
        # buffers are allocated while the heap is still in one piece.
        if self._buf is None:
            self._buf = shared()
        if self._transport is None:
            core = self._core
            cfg = core.config
            self._transport = core.platform.transport(
                core.server_url, cfg.http_timeout * 1000, cfg.tls_verify, cfg.ca_data)
        return self._transport

    def aopen(self):
        if self._atransport is None:
            core = self._core
            cfg = core.config
            self._atransport = core.platform.async_transport(
                core.server_url, cfg.http_timeout * 1000, cfg.tls_verify, cfg.ca_data)
        return self._atransport

    def aclose(self):
        t = self._atransport
        self._atransport = None
        if t is not None:
            try:
                t.close()
            except Exception:
                pass

    def release(self, job):
        # The exchange of `job` is over, answered or not (cancelled): the buffer is free.
        if self._buf is not None and self._buf.owner is self:
            self._buf.owner = None

    def server_changed(self):
        # set_server_url: close the old connection; a pause for the old server no longer applies.
        self.close()
        self._wait_ms = 0
        self._fails = self._pauses = 0
        self.paused_reason = None

    def close(self):
        t = self._transport
        self._transport = None
        if t is not None:
            try:
                t.close()
            except Exception:
                pass
        self.aclose()

    # ---- cooldown ----
    def wait_left_ms(self, explicit=False):
        # ms until the next send may happen; 0 when it may happen now. An explicit flush()
        # does not wait out the backoff after a network error or 5xx, only a pause or a
        # Retry-After the server asked for.
        if self._wait_ms <= 0 or (explicit and not self._hard):
            return 0
        left = self._wait_ms - self._core.clock.since(self._wait_from)
        if left <= 0:
            self._wait_ms = 0
            return 0
        return left

    def _cool(self, seconds, hard):
        self._wait_from = self._core.clock.ticks()
        self._wait_ms = seconds * 1000
        self._hard = hard

    def ready(self, explicit=False):
        core = self._core
        if self.wait_left_ms(explicit) or not core.can_send():
            return False
        if self._unacked is not None:
            # A delivered request that storage would not mark as sent: nothing new goes out
            # until it is. Retried once per call, never in a tight loop on failing storage.
            seq, through = self._unacked
            self._unacked = None
            if not self._ack(seq, through):
                return False
        return len(core.request_queue) > 0 and core.platform.is_online()

    # ---- one send ----
    def prepare(self, explicit=False):
        # -> (seq, through, method, path, body, content_type) of the request to send now, or
        # None. Records that carry nothing are consumed here; poison is set aside. The request
        # is built in the send buffer: path/body are views of it until the next prepare().
        core = self._core
        while self._unacked is None and self.ready(explicit):
            buf = self._buf
            if buf.owner is not None:
                return None  # a request is in flight (asyncio, or another instance): next time
            seq = through = 0
            try:
                got = buf.load(core.request_queue)
                if got is None:
                    return None
                seq, flags = got
                buf.owner = self
                self._fix(flags)
                if core.drop_age_ms:
                    from .pacing import drop_old

                    if drop_old(self, seq, flags):
                        continue  # older than the server configuration keeps: dropped
                span = flag_value(flags, "R")
                if span is not None:
                    first, through = span.split("-")
                    through = int(through)
                    if not self._events(int(first), through):
                        # Its events are gone (delivered before a cut, or damaged): nothing to
                        # send, and an empty events request is never sent.
                        buf.owner = None
                        self._ack(seq, through)
                        continue
                job = buf.finish(len(core.request_queue), core.config.salt,
                                 core.config.force_post or "P" in flags)
            except MemoryError as e:
                buf.owner = None
                core.internal_error(_M, "prepare", e)
                self._cool(1, False)
                return None
            except Exception as e:
                buf.owner = None
                if not seq:
                    raise  # the queue itself failed: the caller's guard reports it
                call_cold("policy", "poison", self, seq, through, e)
                continue
            return (seq, through) + job
        return None

    def _fix(self, flags):
        # Send-time fix-ups that keep retries byte-identical, made in place: a request held in
        # temporary ID mode goes out under the real ID, one made before the clock was valid
        # gets its time.
        core = self._core
        buf = self._buf
        i = buf.find(_TEMP_TAG)
        if i >= 0:
            buf.replace(i, i + len(_TEMP_TAG),
                        b"&device_id=" + quote(core.current_id).encode() + b"&")
        marker = flag_value(flags, "U")
        if marker is not None:
            stamp = time_params(core.clock, core.clock.tz(), "U" + marker)
            i = buf.find(b"&tz=")
            if stamp is not None and i >= 0:
                buf.replace(i, i, stamp)

    def _events(self, first, through):
        # Appends eq items first..through as the encoded `events` value. -> how many.
        core = self._core
        buf = self._buf
        n = 0
        clock = core.clock
        tz = self._request_tz()
        for seq, data in core.event_queue.items(first - 1):
            if seq > through:
                break
            buf.put(b"%2C" if n else b"%5B")
            tail = None
            if _MARKER in data:
                data = retime_event(data, clock, tz)
            else:
                tail = hour_dow_tail(data, clock, tz)
            if tail is None:
                buf.quote(data)
            else:
                buf.quote(memoryview(data)[:-1])
                buf.quote(tail)
            n += 1
        if n:
            buf.put(b"%5D")
        return n

    def _request_tz(self):
        # The tz stored with the request in the send buffer: its events' hour and dow then come
        # out the same on every retry, whatever the offset (daylight saving) is by then.
        b = self._buf
        i = b.find(b"&tz=")
        if i >= 0:
            j = i + 4
            k = j
            while k < b.n and b.buf[k] != 38:  # "&"
                k += 1
            try:
                return int(str(bytes(b.buf[j:k]), "ascii"))
            except ValueError:
                pass
        return self._core.clock.tz()

    def finish(self, job, status, retry_after, answer, error=None):
        # Applies the answer (or the network error) to the request of `job`. Anything but the
        # usual Success is handled in policy.py, loaded for it and dropped after.
        seq, through = job[0], job[1]
        self._buf.owner = None  # the request has been sent (or failed): the buffer is free
        if error is None and 200 <= status < 300 and answer == _SUCCESS:
            self.last_status = status
            self.delivered += 1
            self._fails = self._pauses = 0
            self.paused_reason = None
            self._ack(seq, through)
            return OK
        return call_cold("policy", "apply", self, seq, through, status, retry_after, answer,
                         error)

    def step(self, explicit=False):
        # At most one exchange. -> OK/RETRY/PAUSE/DROP, or None when nothing was tried.
        job = self.prepare(explicit)
        if job is None:
            return None
        started = self._core.clock.ticks()
        try:
            try:
                status, retry_after, answer = self.open().exchange(job[2], job[3], job[4],
                                                                   job[5])
            except Exception as e:
                # OSError: network down, refused, reset, timed out, malformed answer; anything
                # else is a transport bug, handled the same way so the request is kept.
                if not isinstance(e, OSError):
                    self._core.internal_error(_M, "exchange", e)
                return self.finish(job, 0, None, None, e)
            outcome = self.finish(job, status, retry_after, answer)
            if outcome == OK and self._core.clock.since(started) >= self._core.bom[0]:
                from .pacing import slow  # the server answered slowly: it gets a rest

                slow(self._core, self)
            return outcome
        finally:
            self.release(job)

    # ---- acks, drops and poison ----
    def settle(self):
        # The event queue acked through the delivered events _ack has let wait. -> True when
        # that freed something (store_item calls it before dropping anything for room).
        if not self._eq_through:
            return False
        self._core.event_queue.ack(self._eq_through)
        self._eq_through = self._eq_lag = 0
        return True

    def _ack(self, seq, through):
        # The event queue is acked before the request queue, and only when the request
        # queue is about to run empty or every _EQ_LAG events requests: while requests wait,
        # delivered events left on flash are dropped after a restart up to the events of the
        # first waiting request (startup runs sync_events), so they are never sent again, and
        # a delivery costs one cursor write instead of two. A half-full event queue is acked at
        # once: delivered events never crowd out (and count as dropped) waiting ones; so is a
        # ring's (its ack is a 16-byte cursor entry, and a ring that wraps over delivered but
        # unacked events would count them as dropped). A cut between the two acks leaves a
        # request whose events are gone, which prepare() then skips. Full storage: settle()
        # first, before anything waiting is dropped for room.
        core = self._core
        rq = core.request_queue
        try:
            if through:
                self._eq_through = max(self._eq_through, through)
                self._eq_lag += 1
            eq = core.event_queue
            if self._eq_through and (len(rq) <= 1 or self._eq_lag >= _EQ_LAG
                                     or len(eq) * 2 >= eq.capacity
                                     or getattr(eq, "cheap_ack", False)):
                self.settle()
            rq.ack(seq)
            if not len(rq):
                # the events of requests acked without them (poisoned before their span was
                # read) go too: nothing to send is left on flash for a restart to rebuild
                core.sync_events()
            return True
        except OSError as e:
            self._unacked = (seq, through)
            core.log.notice("ack", ERROR, _M, "ack",
                            "cannot mark a delivered request as sent (%s): nothing else is "
                            "sent until storage takes the write", e)
            return False
