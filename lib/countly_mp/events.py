# events.py - custom events (timed events: timed.py).
# Each recorded event is one item on flash at once (a power cut loses none); batcher.py turns
# them into `events` requests. An event is built whole here and checked against the request
# budget: one that alone cannot fit a request loses its largest segmentation values first
# (reported once), and one that still cannot fit is refused at the call, never accepted and then
# stuck.

from . import limits
from .batcher import event_size
from .compat import const, dumps, is_int, is_number
from .log import ERROR
from .wire import encoded_len

_M = "Events"
_SERVER_KEY_MAX = const(127)  # the server drops event keys of 128+ characters from its totals
_SEG_WRAP = const(30)  # encoded ',"segmentation":{}' around the entries

# Internal keys and the consent each needs instead of "events" (the guide, Internal Events),
# as " key=feature[,feature] " in one string: a dict of tuples held ~1 KB more heap.
_INTERNAL = (" [CLY]_view=views [CLY]_nps=feedback [CLY]_survey=feedback"
             " [CLY]_star_rating=star-rating [CLY]_orientation=users [CLY]_push_action=push"
             " [CLY]_action=clicks,scrolls ")


def _internal(key):
    # -> the consents an internal key needs, or None for an ordinary event key
    if not key.startswith("[CLY]_") or " " in key or "=" in key:
        return None
    i = _INTERNAL.find(" " + key + "=")
    if i < 0:
        return None
    i += len(key) + 2
    return _INTERNAL[i:_INTERNAL.index(" ", i)].split(",")


def _seconds(ms):
    # Durations are integer ms inside the SDK; the wire wants seconds. Written as a decimal
    # string so no float (single precision on ESP32) ever touches the value.
    return "%d.%03d" % (ms // 1000, ms % 1000)


def _false(*args, **kwargs):
    return False


class Events:
    def __init__(self, core):
        self._core = core
        self._timed = {}  # key -> ticks at start

    def _allowed(self, key):
        core = self._core
        features = _internal(key)
        if features is None:
            return core.consent_has("events")
        for f in features:
            if core.consent_has(f):
                return True
        return False

    def record(self, key, count=1, sum=None, dur=None, segmentation=None):
        core = self._core
        try:
            core.log.i(_M, "record", "key=[%s]", key)
            return self.add(key, count, sum, dur, segmentation)
        except Exception as e:
            core.internal_error(_M, "record", e)
            return False

    def add(self, key, count=1, sum=None, dur=None, segmentation=None, dur_ms=None,
            keep=()):
        # Internal entry point shared with views and feedback; True when the event is on flash.
        # keep: segmentation keys the budget may never drop (a view's own keys).
        core = self._core
        if not core.accepting(_M, "record"):
            return False
        key = limits.key(core, key, _M, "record")
        if key is None:
            return False
        if len(key) > _SERVER_KEY_MAX:
            key = key[:_SERVER_KEY_MAX]
        if not self._allowed(key):
            core.log.w(_M, "record", "no consent for [%s], not recorded", key)
            return False
        if not is_int(count) or count < 1:
            if count is not None and count != 1:
                core.log.w(_M, "record", "count must be a positive int, 1 used")
            count = 1
        if sum is not None and not is_number(sum):
            core.log.w(_M, "record", "sum must be a number, ignored")
            sum = None
        if dur_ms is None and dur is not None:
            if is_number(dur) and dur >= 0:
                dur_ms = int(dur * 1000 + 0.5)
            else:
                core.log.w(_M, "record", "dur must be a non-negative number, ignored")
        seg = limits.segmentation(core, segmentation, _M, "record")
        head = '{"key":' + dumps(key) + ',"count":%d' % count
        if sum is not None:
            head += ',"sum":' + dumps(sum)
        if dur_ms is not None:
            head += ',"dur":' + _seconds(dur_ms)
        ts = core.clock.now_ms()
        if ts is not None:
            tail = ',"timestamp":%d}' % ts  # hour, dow: added at send (hour_dow_tail)
        else:
            # No valid wall clock yet: a ticks marker, resolved when the request is sent.
            tail = ',"timestamp":"%s"}' % core.clock.marker()
        data = self._fit(key, head, seg, tail, keep)
        if data is None:
            return False
        return core.batcher.add(data, event_size(data))

    def _fit(self, key, head, seg, tail, keep):
        # The event's JSON bytes within the budget of one request, or None when it cannot fit.
        # Sizes are added up entry by entry, so an oversized event is never written out whole.
        core = self._core
        budget = core.batcher.budget()
        size = event_size((head + tail).encode())
        sizes = None
        if seg:
            sizes = [(encoded_len(dumps(k)) + encoded_len(dumps(seg[k])) + 6, k) for k in seg]
            size += _SEG_WRAP + sum(n for n, k in sizes)
        if size > budget and seg:
            # Largest encoded entries go first (ties by key, the same on every runtime).
            sizes.sort(reverse=True)
            dropped = 0
            for n, k in sizes:
                if size <= budget:
                    break
                if k not in keep:
                    del seg[k]
                    size -= n
                    dropped += 1
            core.trim(_M, "record", "event [%s] too large for one request: %d segmentation "
                      "values dropped, largest first", key, dropped)
        sizes = None
        data = (head + (',"segmentation":' + dumps(seg) if seg else "") + tail).encode()
        if event_size(data) > budget:
            core.log.notice("event-too-large", ERROR, _M, "record",
                            "event [%s] too large for one request, not recorded", key)
            return None
        return data

    def __getattr__(self, name):
        # Timed events (start, end, cancel) are in timed.py, loaded on first use: an app that
        # never times an event never holds that code.
        if name not in ("start", "end", "cancel"):
            raise AttributeError(name)
        try:
            from . import timed

            fn = getattr(timed, name)
        except Exception as e:  # MemoryError: the call answers False, as any failed call
            self._core.internal_error(_M, name, e)
            return _false
        return lambda *args, **kwargs: fn(self, *args, **kwargs)

    def clear_timed(self):
        self._timed = {}
