# countly.py - the Countly object: wires config, port, clock, queues and features together.
# Feature objects (events, sessions, views, ...) are built on first use, so an app that only
# records events never compiles the crash or remote-config modules. No public call raises.

from . import device_id as dmod
from .clock import Clock
from .compat import MICROPYTHON, const, dumps, exception_text
from .config import Config
from .fsqueue import FsQueue
from .log import Logger
from .request import RequestBuilder, event_marker, retime, split_record
from .sender import DROP, OK, Sender
from .store import Store
from .wire import quote

_M = "Countly"
_CLOCK_GRACE_MS = const(60000)  # how long after init sending waits for a valid wall clock

# attribute:class, loaded by __getattr__ the first time it is used; each module has the
# attribute's name. One string: a dict of tuples held ~1 KB more heap.
_FEATURES = (" events:Events sessions:Sessions device_id:DeviceId views:Views crashes:Crashes"
             " user:User location:Location consent:ConsentApi attribution:Attribution apm:Apm"
             " remote_config:RemoteConfig feedback:Feedback ")


def _load(module, cls):
    mod = __import__("countly_mp." + module, None, None, [cls])
    return getattr(mod, cls)


class Countly:
    def __init__(self, config, platform=None):
        if not isinstance(config, Config):
            raise ValueError("Countly: config must be a countly_mp.Config")
        self.config = config
        self.log = Logger(config.logging, config.log_listener)
        self.ready = False
        self._stopped = False
        try:
            self._start(platform)
            self.ready = True
        except Exception as e:
            # Storage or port failure: the SDK stays inert rather than taking the app down.
            self.internal_error(_M, "init", e)

    def _start(self, platform):
        cfg = self.config
        if platform is None:
            import countly_port

            platform = countly_port.Platform(cfg)
        self.platform = platform
        self.clock = Clock(platform)
        self.server_url = cfg.url
        self.sdk_name = ("micropython" if MICROPYTHON else "python") + "-native-" + platform.name
        fs = getattr(platform, "fs", None)
        self.store = Store(cfg.storage_path or platform.storage_root(), cfg.app_key, fs)
        self.request_queue = FsQueue(self.store.path("rq"), capacity=cfg.request_queue_size,
                                     fs=fs)
        self.event_queue = FsQueue(self.store.path("eq"), capacity=cfg.request_queue_size, fs=fs)
        self._repair_event_batch()
        self.builder = RequestBuilder(self)
        self.sender = Sender(self, self.request_queue)
        self.sender.open()
        self._consents = {}
        for f in cfg.consents:
            self._consents[f] = True
        stored = dmod.load(self.store)
        self._device_id, self.device_id_type = dmod.initial(
            cfg, stored, platform.generate_device_id)
        if stored != (self._device_id, self.device_id_type):
            dmod.save(self.store, self._device_id, self.device_id_type)
        self._last_combine = self._init_ticks = self.clock.ticks()
        self.log.i(_M, "init", "sdk=%s, device_id_type=%s" % (self.sdk_name,
                                                              self.device_id_type))
        # Init-time requests of features set up in Config; each module loads only when used.
        if cfg.require_consent and cfg.consents:
            self.consent.at_init()  # groups expanded, then the full state is sent
        if (cfg.disable_location or cfg.location_country_code or cfg.location_city
                or cfg.location_gps is not None or cfg.location_ip):
            self.location.at_init()
        if not cfg.manual_sessions and not self.sessions.resume():
            self.sessions.begin_now()
        if cfg.direct_attribution is not None or cfg.indirect_attribution is not None:
            self.attribution.at_init()

    def __getattr__(self, name):
        i = _FEATURES.find(" " + name + ":")
        if i < 0 or " " in name or ":" in name:
            raise AttributeError(name)
        i += len(name) + 2
        feature = _load(name, _FEATURES[i:_FEATURES.index(" ", i)])(self)
        setattr(self, name, feature)  # cached: __getattr__ is not consulted again
        return feature

    # ---- public lifecycle ----
    def tick(self):
        # Timers first, then at most one network exchange: the app's loop is never held longer
        # than one bounded HTTP exchange.
        if not self.ready or self._stopped:
            return None
        try:
            service = getattr(self.platform, "service", None)
            if service is not None:
                service()  # the port's own housekeeping, e.g. NTP on an ESP32
            if self.sessions.due():
                self.sessions.update_now()
            if len(self.event_queue) and (
                self.clock.since(self._last_combine) >= self.config.event_flush_interval * 1000):
                self.flush_events()
            return self.sender.step()
        except Exception as e:
            self.internal_error(_M, "tick", e)
            return None

    def flush(self):
        if not self.ready:
            return 0
        delivered = 0
        try:
            self.log.i(_M, "flush")
            self.flush_events()
            while True:
                outcome = self.sender.step()
                if outcome == OK:
                    delivered += 1
                elif outcome != DROP:
                    break
        except Exception as e:
            self.internal_error(_M, "flush", e)
        return delivered

    def pending(self):
        if not self.ready:
            return 0
        try:
            return len(self.request_queue)
        except Exception as e:
            self.internal_error(_M, "pending", e)
            return 0

    def set_server_url(self, url):
        try:
            self.log.i(_M, "set_server_url")
            Config(url, self.config.app_key)  # the same validation as at init
            while url.endswith("/"):
                url = url[:-1]
            self.server_url = url
            if self.ready:
                self.sender.server_changed()
            return True
        except Exception as e:
            self.log.w(_M, "set_server_url", "invalid url ignored: %s" % e)
            return False

    def stop(self):
        if not self.ready or self._stopped:
            return None
        try:
            self.log.i(_M, "stop")
            if not self.config.manual_sessions:
                self.sessions.end_now()
            self.flush_events()
            self.user_save()
        except Exception as e:
            self.internal_error(_M, "stop", e)
        # The queues stay readable: flush() after stop() may still deliver what is left.
        self._stopped = True
        self.sender.close()
        return None

    # ---- internal services used by the feature modules ----
    def internal_error(self, module, function, exc):
        # An SDK bug or a storage failure: logged with its type, never with payload data.
        self.log.e(module, function, "internal error %s: %s" % (type(exc).__name__, exc))
        if self.config.logging:
            print(exception_text(exc))

    def device_id_value(self):
        return self._device_id

    def set_device_id(self, value, kind):
        self._device_id = value
        self.device_id_type = kind
        dmod.save(self.store, value, kind)

    def consent_has(self, feature):
        if not self.config.require_consent:
            return True
        return self._consents.get(feature, False)

    def set_consent(self, feature, given):
        self._consents[feature] = given

    def can_send(self):
        # Requests recorded in temporary ID mode wait for a real ID; just after boot, requests
        # wait a little for the clock so that they can be sent with their true time.
        if self.device_id_type == dmod.DeviceIdType.TEMPORARY_ID:
            return False
        return self.clock.valid() or self.clock.since(self._init_ticks) >= _CLOCK_GRACE_MS

    def metrics_json(self):
        m = self.platform.metrics()
        m["_app_version"] = self.config.app_version
        for k in self.config.metrics:
            m[k] = self.config.metrics[k]
        return dumps(m)

    def location_params(self, begin):
        # The location module, when loaded, owns location; without it, init values go with the
        # first begin_session and an opted-out device sends an empty location.
        feature = self.__dict__.get("location")
        if feature is not None:
            return feature.params(begin)
        cfg = self.config
        if cfg.disable_location or not self.consent_has("location"):
            return [("location", "")] if begin else []
        gps = cfg.location_gps
        if isinstance(gps, (list, tuple)):
            gps = "%s,%s" % (gps[0], gps[1])
        return [("country_code", cfg.location_country_code), ("city", cfg.location_city),
                ("location", gps), ("ip_address", cfg.location_ip)]

    def user_save(self):
        feature = self.__dict__.get("user")
        if feature is not None:
            feature.save()

    def enqueue(self, params, force_post=False, marker=None):
        if self._stopped:
            return False
        before = self.request_queue.dropped
        self.request_queue.append(self.builder.record(params, force_post, marker))
        if self.request_queue.dropped != before:
            self.log.d(_M, "enqueue", "request queue full, oldest request dropped")
        return True

    def flush_events(self):
        self._last_combine = self.clock.ticks()
        if len(self.event_queue):
            self.events.combine()

    def end_for_change(self):
        # Device ID change without merge: events and the session close under the old ID.
        # Returns whether a session was running, for begin_after_change.
        self.flush_events()
        self.user_save()
        was_active = self.sessions.active
        if was_active:
            self.sessions.end_now()
        self.events.clear_timed()
        return was_active

    def begin_after_change(self, was_active):
        if was_active and not self.config.manual_sessions:
            self.sessions.begin_now()

    def prepare_record(self, record):
        # Send-time fix-ups that keep retries byte-identical: a request held in temporary ID
        # mode goes out under the real ID, and one made before the clock was valid is re-timed.
        tag = b"&device_id=" + dmod.TEMP_ID.encode() + b"&"
        if tag in record:
            record = record.replace(tag, b"&device_id=" + quote(self._device_id).encode() + b"&",
                                    1)
        return retime(record, self.clock, self.clock.tz())

    def _repair_event_batch(self):
        # A cut between "events request queued" and "events removed" would send them twice: the
        # newest request names the last event it carries, so drop those from the event queue.
        last = self.request_queue.peek_last()
        if last is None or not len(self.event_queue):
            return
        flags, _ = split_record(last[1])
        upto = event_marker(flags)
        if upto is not None and self.event_queue.peek()[0] <= upto:
            self.event_queue.ack(upto)
