# sender.py - delivery policy: which queued request goes out when, and what its answer means.
# The transport (from the port) does one HTTP exchange; everything else is decided here: the
# online gate, the cooldown after a failure, pausing on a configuration problem, dropping a
# request the server will never accept. Order is kept: only the oldest request is ever sent.

from .compat import collect, const, loads
from .request import finalize

OK = const(0)
RETRY = const(1)
PAUSE = const(2)
DROP = const(3)

# 200 answers that mean the data was thrown away because our salt is wrong (protocol.md 3).
_CHECKSUM_REJECTIONS = ("Request does not have checksum", "Request does not match checksum")
# 4xx answers that name a configuration problem: every later request would fail the same way.
_CONFIG_PROBLEMS = (
    'Missing parameter "app_key" or "device_id"',
    "App does not exist",
    "App is currently not accepting data",
    "App is locked",
)
_PAUSE_FACTOR = const(10)  # a paused app is retried after 10 cooldowns, at least 10 minutes
_MIN_PAUSE_S = const(600)


def result_of(body):
    # The "result" of a JSON object answer, or None when the body is not one.
    try:
        obj = loads(body)
    except Exception:  # ValueError on CPython, ValueError/other on MicroPython
        return None
    if isinstance(obj, dict) and "result" in obj:
        return obj["result"]
    return None


def classify(status, body):
    result = result_of(body)
    if 200 <= status < 300:
        if result is None:
            return RETRY
        if result in _CHECKSUM_REJECTIONS:
            return PAUSE
        return OK
    if status == 408 or status == 429 or status >= 500:
        return RETRY
    if 400 <= status < 500:
        if result in _CONFIG_PROBLEMS:
            return PAUSE
        return DROP
    return RETRY  # 1xx/3xx: nothing we can act on, try again later


class Sender:
    def __init__(self, core, queue):
        self._core = core
        self.queue = queue
        self._transport = None
        self._wait_from = 0
        self._wait_ms = 0  # while > 0, no send until ticks since _wait_from reach it
        self.stats = {"delivered": 0, "retried": 0, "dropped": 0, "paused": 0, "errors": 0}
        self.last_status = 0

    def open(self):
        # Builds the transport (no network I/O): done at init so the HTTP client's code and
        # buffers are allocated while the heap is still in one piece.
        if self._transport is None:
            core = self._core
            cfg = core.config
            self._transport = core.platform.transport(
                core.server_url, cfg.http_timeout * 1000, cfg.tls_verify, cfg.ca_data)
        return self._transport

    def server_changed(self):
        # set_server_url: close the old connection, and a pause for the old server no longer
        # applies.
        self.close()
        self._wait_ms = 0

    def close(self):
        t = self._transport
        self._transport = None
        if t is not None:
            try:
                t.close()
            except Exception:
                pass

    def cooling_down(self):
        if self._wait_ms <= 0:
            return False
        if self._core.clock.since(self._wait_from) >= self._wait_ms:
            self._wait_ms = 0
            return False
        return True

    def _cool(self, seconds):
        self._wait_from = self._core.clock.ticks()
        self._wait_ms = seconds * 1000

    def ready(self):
        core = self._core
        if len(self.queue) == 0 or self.cooling_down():
            return False
        if not core.can_send():
            return False
        return core.platform.is_online()

    def step(self):
        # At most one exchange. Returns OK/RETRY/PAUSE/DROP, or None when nothing was tried.
        if not self.ready():
            return None
        head = self.queue.peek()
        if head is None:
            return None
        seq, record = head
        core = self._core
        cfg = core.config
        record = core.prepare_record(record)
        method, path, body, ctype = finalize(record, len(self.queue), cfg.salt, cfg.force_post)
        record = head = None
        collect()
        log = core.log
        retry_after = None
        try:
            status, retry_after, answer = self.open().exchange(method, path, body, ctype)
            outcome = classify(status, answer)
        except OSError as e:
            # Network down, refused, reset, timed out: the request stays first in line.
            self.close()
            status = 0
            outcome = RETRY
            log.d("Sender", "step", "network error %s" % (e.args[0] if e.args else e))
        self.last_status = status
        if outcome == OK:
            self.queue.ack(seq)
            self.stats["delivered"] += 1
            log.d("Sender", "step", "delivered, status=%d" % status)
        elif outcome == DROP:
            # The server will never take this one (a 4xx that names no config problem).
            self.queue.ack(seq)
            self.stats["dropped"] += 1
            log.w("Sender", "step", "request rejected with status %d and dropped" % status)
        elif outcome == PAUSE:
            self.stats["paused"] += 1
            self._cool(max(cfg.retry_cooldown * _PAUSE_FACTOR, _MIN_PAUSE_S))
            log.e("Sender", "step",
                  "server refused the app's requests (status %d): delivery paused" % status)
        else:
            self.stats["retried"] += 1
            wait = cfg.retry_cooldown
            if retry_after is not None and retry_after > wait:
                wait = retry_after  # Retry-After is a floor, never a way to retry sooner
            self._cool(wait)
            log.w("Sender", "step", "send failed (status %d), retry in %d s" % (status, wait))
        return outcome
