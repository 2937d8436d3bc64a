# countly.py - the Countly object: wires config, port, clock, queues and features together.
# Feature objects (events, sessions, views, ...) are built on first use, so an app that only
# records events never compiles the crash or remote-config modules. No public call raises, and
# no attribute access either: a feature that cannot load answers every call with None.

from .compat import collect, compact, const, drop_module, exception_text
from .config import Config
from .log import ERROR, WARNING, Logger
from .request import TooLarge, flag_value
from .request import split_record
from .sender import DROP, OK

_M = "Countly"
_CLOCK_GRACE_MS = const(60000)  # how long after init sending waits for a valid wall clock
_ENOSPC = const(28)
_INIT_GC = const(2048)  # bytes allocated between collections during init (compat.compact)
_ROOM_TRIES = const(64)  # storage-full rounds of dropping the oldest before giving up
# The modules only start-up uses (startup.py loads them), dropped when Countly() returns.
_START_UP = ("startup", "device_id", "fsopen", "sessionops", "serverconfig", "initlog")

# Cold entry points, name:module: the module (aio.py, report.py, admin.py) is loaded on the
# first call, so an app that never calls them never holds their bytecode.
_COLD = " atick:aio aflush:aio run:aio status:report set_server_url:admin stop:admin "
# attribute:[module.]class, loaded by __getattr__ the first time it is used; the module has
# the attribute's name unless given. One string: a dict of tuples held ~1 KB more heap.
_FEATURES = (" events:Events sessions:Sessions device_id:DeviceId views:Views"
             " crashes:Crashes user:User location:Location consent:ConsentApi"
             " attribution:Attribution apm:Apm remote_config:RemoteConfig feedback:Feedback ")


def _load(module, cls):
    mod = __import__("countly_mp." + module, None, None, [cls])
    return getattr(mod, cls)


class _Unavailable:
    # Stands in for a feature whose module could not load (not installed, MemoryError): every
    # call returns None, nothing raises. The load is tried again on the next access.
    def __getattr__(self, name):
        return _nothing


def _nothing(*args, **kwargs):
    return None


_UNAVAILABLE = _Unavailable()  # made at import: building one later could itself fail


async def _none():
    return None


async def _zero():
    return 0


class Countly:
    # Switches the server configuration may turn off (serverconfig.py); class attributes, so
    # they cost an instance nothing while the server leaves them alone.
    networking = True  # False: nothing is sent
    server_off = ()  # features switched off, as if their consent were missing
    drop_age_ms = 0  # > 0: queued requests older than this are dropped unsent
    # Backoff after a slow answer (pacing.py): answer time ms, queue share in permille,
    # request age ms, rest s. On by default with these values, as in the other SDKs.
    bom = (10000, 500, 86400000, 60)
    _hc_mark = (0, 0, None)  # health counters at their last save (sessions.save_health)

    def __init__(self, config, platform=None):
        if not isinstance(config, Config):
            raise ValueError("Countly: config must be a countly_mp.Config")
        self.config = config
        self.log = Logger(config.logging, config.log_listener)
        self.ready = False
        self.init_error = None
        self.trimmed = 0
        self._stopped = False
        # The send buffer is the one large block the SDK holds: taken first, while the heap is
        # in one piece. Then the code that stays loaded (the port, the queues, sessions), then
        # the code only start-up runs (startup.py and the modules it loads, _START_UP): loaded
        # after the rest and dropped together, it gives back one piece of heap, where a later
        # large allocation (a table of interned names, a feature's code) still fits.
        from .sendbuf import shared

        shared()
        was = compact(_INIT_GC)
        try:
            if platform is None:
                import countly_port

                platform = countly_port.Platform(config)
            from . import batcher, clock, sessions, store  # noqa: F401 - kept, loaded first

            if getattr(platform, "make_queue", None) is None:
                from . import fsqueue  # noqa: F401
            from . import startup

            startup.start(self, platform)
            self.ready = True
        except Exception as e:
            # Storage or port failure: the SDK stays inert rather than taking the app down,
            # and says so once even with logging off.
            self.init_error = "%s: %s" % (type(e).__name__, e)
            self.log.notice("init", ERROR, _M, "init",
                            "SDK inert, nothing will be recorded or sent: %s", self.init_error)
        if self.ready:
            startup.requests(self)
        startup = None
        for name in _START_UP:
            drop_module(name)
        compact(was)
        collect()

    def __getattr__(self, name):
        # Only for names not set yet: the cold entry points, and the features, loaded and
        # cached on first use.
        i = _COLD.find(" " + name + ":")
        if i >= 0 and " " not in name:
            i += len(name) + 2
            module = _COLD[i:_COLD.index(" ", i)]
            return lambda *args, **kwargs: self._via(module, name, *args, **kwargs)
        try:
            i = _FEATURES.find(" " + name + ":")
            if i < 0 or " " in name or ":" in name:
                raise AttributeError(name)
            i += len(name) + 2
            cls = _FEATURES[i:_FEATURES.index(" ", i)]
            mod = name
            if "." in cls:
                mod, cls = cls.split(".")
            was = compact(_INIT_GC)  # the feature's code stays: packed low, as at init
            try:
                feature = _load(mod, cls)(self)
            finally:
                compact(was)
        except AttributeError:
            raise  # a name that is no feature: the app's typo stays a normal AttributeError
        except Exception as e:  # ImportError (not installed), MemoryError, a broken module
            self.log.notice("load:" + name, ERROR, _M, name,
                            "feature unavailable (%s: %s), its calls do nothing",
                            type(e).__name__, e)
            return _UNAVAILABLE
        setattr(self, name, feature)  # cached: __getattr__ is not consulted again
        return feature

    # ---- public lifecycle ----
    def tick(self):
        # Timers first, then at most one network exchange: the app's loop is never held longer
        # than one bounded HTTP exchange. Each step is guarded on its own, so a failure in one
        # never stops the others, least of all sending what is queued.
        # -> True: a request was delivered; False: an exchange failed; None: nothing sent.
        if not self.ready or self._stopped or self.timers():
            return None
        try:
            outcome = self.sender.step()
            if outcome is None and self.jobs:
                # The SDK's own one-shot exchanges (server configuration, health check, remote
                # config triggers) when the queue has nothing to send: jobs.py.
                from .jobs import step

                outcome = step(self)
        except Exception as e:
            self.internal_error(_M, "tick", e)
            return None
        for q in (self.request_queue, self.event_queue):
            # damaged records on flash are skipped by the queues and counted: said once each
            if q.corrupt:
                self.log.notice(q, ERROR, _M, "tick", "%d damaged records on flash skipped "
                                "(status()['corrupt'])", q.corrupt)
        return None if outcome is None else outcome == OK

    def timers(self):
        # The port's housekeeping first (NTP on an ESP32). -> True when it used the network:
        # that was this tick's one bounded exchange, so no request goes out in the same tick.
        # Then the clock's anchor, the session update, the event batch's age: each guarded on
        # its own.
        used = False
        service = getattr(self.platform, "service", None)
        if service is not None:
            try:
                used = service() is True
            except Exception as e:
                self.internal_error(_M, "tick service", e)
        self.safely("clock", self.clock.settle)
        try:
            if self.sessions.due():
                self.sessions.update_now()
        except Exception as e:
            self.internal_error(_M, "session", e)
        try:
            if self.batcher.due():
                self.batcher.close()
        except Exception as e:
            self.internal_error(_M, "events", e)
        return used

    def _via(self, module, name, *args, **kwargs):
        # A cold entry point (_COLD) called, keywords included (`run(period_ms=...)`): its
        # module's function, or when the module cannot load (MemoryError) or the call is
        # malformed what the SDK answers when it has nothing to say.
        try:
            mod = __import__("countly_mp." + module, None, None, [name])
            return getattr(mod, name)(self, *args, **kwargs)
        except Exception as e:
            self.internal_error(_M, name, e)
            if name == "status":
                return {"ready": self.ready, "init_error": self.init_error}
            if name == "aflush":
                return _zero()  # still awaitable
            if name in ("atick", "run"):
                return _none()
            if name == "stop":
                # Stopped all the same: nothing more is taken and run() ends. Said on its own
                # line: the shared out-of-memory line may have been printed long before.
                self._stopped = True
                self.log.notice("stop", ERROR, _M, "stop", "could not end the session (%s): "
                                "stopped without it; the server ends it after its timeout",
                                type(e).__name__)
            return False if name == "set_server_url" else None

    def safely(self, what, fn):
        try:
            fn()
        except Exception as e:
            self.internal_error(_M, "tick " + what, e)

    def flush(self):
        # Events become requests, then requests are sent until the queue is empty or a send
        # fails. Not held back by the backoff after a network error (the app asked now), but
        # a pause or a server's Retry-After is respected. -> requests delivered.
        if not self.ready:
            return 0
        delivered = 0
        self.log.i(_M, "flush")
        self.safely("flush events", self.batcher.close)
        try:
            while True:
                outcome = self.sender.step(True)
                if outcome == OK:
                    delivered += 1
                elif outcome != DROP:
                    break
        except Exception as e:
            self.internal_error(_M, "flush", e)
        return delivered

    def pending(self):
        # Requests waiting on flash, plus recorded events not yet in a request.
        if not self.ready:
            return 0
        try:
            return len(self.request_queue) + self.batcher.count
        except Exception as e:
            self.internal_error(_M, "pending", e)
            return 0

    # ---- internal services used by the feature modules ----
    def accepting(self, module, function):
        # Whether data can be taken now: never True from an SDK that cannot send it.
        if self.ready and not self._stopped:
            return True
        self.log.notice("inert", ERROR, module, function, "not recorded: SDK %s (%s)",
                        "stopped" if self.ready else "inert", self.init_error)
        return False

    def internal_error(self, module, function, exc):
        # An SDK bug or a storage failure: reported once per place, never with payload data.
        # Called from except clauses: it never raises, not even MemoryError.
        try:
            if isinstance(exc, MemoryError):
                self.log.notice("memory", ERROR, module, function, "out of memory: this call "
                                "did nothing (data not recorded, or sending retried later)")
                return
            self.log.notice(module + function, ERROR, module, function, "internal error %s: %s",
                            type(exc).__name__, exc)
            if self.config.logging:
                print(exception_text(exc))
        except Exception:
            pass

    def trim(self, module, function, message, *args):
        # Something the app gave was cut to fit the request budget: counted, said once.
        self.trimmed += 1
        self.log.notice(module, WARNING, module, function, message, *args)

    def consent_has(self, feature):
        if not self.ready:
            return False   # an inert SDK holds no consents (and takes nothing)
        if feature in self.server_off:
            return False
        if not self.config.require_consent:
            return True
        return self._consents.get(feature, False)

    def can_send(self):
        # Requests recorded in temporary ID mode wait for a real ID; all wait for the clock.
        if self.device_id_type == "TEMPORARY_ID" or not self.networking:
            return False
        return self.clock_ready()

    def clock_ready(self):
        # Until the wall clock is valid, exchanges wait, so that what was recorded goes out
        # with its true time: for the grace after init, and beyond it while the port says a
        # sync is under way (online, NTP being retried; the port bounds how long). Then they
        # go undated (the server dates them). With ca_data on https they wait for the clock
        # whatever it takes: checking the server's certificate needs the date.
        clock = self.clock
        if clock.valid():
            return True
        late = clock.since(self._init_ticks) >= _CLOCK_GRACE_MS
        if self.config.ca_data is not None and self.server_url.startswith("https"):
            if late:
                self.log.notice("tls-clock", WARNING, _M, "send", "no valid clock yet: "
                                "nothing is sent until NTP syncs (the certificate check "
                                "needs the date)")
            return False
        pending = getattr(self.platform, "sync_pending", None)
        if pending is not None and pending():
            return False
        return late

    def user_save(self):
        feature = self.__dict__.get("user")
        if feature is not None:
            feature.save()

    def store_item(self, queue, data):
        # Appends to a queue; on a full flash the oldest requests (then the oldest events) are
        # dropped to make room, counted and reported. A queue at its capacity (a ring wraps
        # over its oldest sector) drops its oldest itself: counted by the queue, said here.
        # -> seq; raises OSError when no room can be made (the flash is full of something else).
        tries = 0
        rq = self.request_queue
        before = queue.dropped
        while True:
            try:
                seq = queue.append(data)
                break
            except OSError as e:
                if not e.args or e.args[0] != _ENOSPC or tries >= _ROOM_TRIES:
                    raise
            sender = self.__dict__.get("sender")
            if sender is not None and sender.settle():
                continue  # delivered events the sender had not acked yet: their room first
            tries += 1
            victim = rq if len(rq) else self.event_queue
            if not victim.drop_oldest():
                raise OSError(_ENOSPC, "storage full")
            self.sync_events()
            self.log.notice("full", ERROR, _M, "store", "storage full: oldest %s dropped to "
                            "make room", "requests" if victim is rq else "events")
        if queue.dropped != before:
            if queue is rq:
                self.sync_events()
            self.log.notice("q-full" if queue is rq else "eq-full", ERROR, _M, "store",
                            "%s queue full (%d or its flash): oldest dropped, see "
                            "status()['dropped']", "request" if queue is rq else "event",
                            queue.capacity)
        return seq

    def enqueue(self, params, flags=(), claimed=None, post=False):
        # Queues one request. -> True, or False when it cannot be (too large: a bug in the
        # caller's budgeting, reported; stopped). Storage errors raise to the caller's guard.
        if not self.accepting(_M, "enqueue"):
            return False
        flags = list(flags)
        if post:
            flags.append("P")
        flags.append("C%d" % (self.batcher.claimed if claimed is None else claimed))
        try:
            record = self.builder.record(params, flags)
        except TooLarge as e:
            self.log.notice("too-large", ERROR, _M, "enqueue", "request not queued: %s", e)
            return False
        self.store_item(self.request_queue, record)
        return True

    def sync_events(self):
        # Events whose request left the queue without them (dropped) are dropped too: eq keeps
        # only events some queued request will carry, or that wait for the next one.
        head = self.request_queue.peek()
        if head is None:
            through = self.batcher.claimed
        else:
            flags = split_record(head[1])[0]
            span = flag_value(flags, "R")
            if span is not None:
                through = int(span.split("-")[0]) - 1
            else:
                c = flag_value(flags, "C")
                through = int(c) if c else 0
        eq = self.event_queue
        first = eq.peek()
        if first is not None and first[0] <= through:
            eq.ack(through)

