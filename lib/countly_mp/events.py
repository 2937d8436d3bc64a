# events.py - custom and timed events, persisted one by one until they are combined.
# Each recorded event goes to the event queue on flash at once (a power cut loses none); when
# the threshold or the flush interval is reached they are combined into one `events=[...]`
# request. The request carries the last event's queue sequence so that a cut between "request
# queued" and "events removed" is repaired at the next start instead of sending them twice.

from . import limits
from .compat import dumps, is_int, is_number
from .wire import quote_into

_M = "Events"
_MAX_BATCH_BYTES = 6000  # JSON per request: keeps one request's build well under 20 KB of heap

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
            core.log.i(_M, "record", "key=[%s]" % key)
            return self.add(key, count, sum, dur, segmentation)
        except Exception as e:
            core.internal_error(_M, "record", e)
            return False

    def add(self, key, count=1, sum=None, dur=None, segmentation=None, dur_ms=None, extra=None):
        # Internal entry point shared with views and feedback; returns True when persisted.
        core = self._core
        key = limits.key(core, key, _M, "record")
        if key is None:
            return False
        if not self._allowed(key):
            core.log.d(_M, "record", "no consent for [%s], not recorded" % key)
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
        parts = ['{"key":', dumps(key), ',"count":%d' % count]
        if sum is not None:
            parts.append(',"sum":' + dumps(sum))
        if dur_ms is not None:
            parts.append(',"dur":' + _seconds(dur_ms))
        if seg:
            parts.append(',"segmentation":' + dumps(seg))
        if extra:
            for name, v in extra:
                parts.append(',"%s":%s' % (name, dumps(v)))
        ts = core.clock.now_ms()
        if ts is not None:
            hour, dow = core.clock.hour_dow(ts, core.clock.tz())
            parts.append(',"timestamp":%d,"hour":%d,"dow":%d' % (ts, hour, dow))
        else:
            # No valid wall clock yet: a ticks marker, resolved when the request is sent.
            parts.append(',"timestamp":"%s"' % core.clock.marker())
        parts.append("}")
        core.event_queue.append("".join(parts).encode())
        if len(core.event_queue) >= core.config.event_queue_threshold:
            self.combine()
        return True

    def start(self, key):
        core = self._core
        try:
            core.log.i(_M, "start", "key=[%s]" % key)
            key = limits.key(core, key, _M, "start")
            if key is None or not self._allowed(key):
                return False
            if key in self._timed:
                core.log.w(_M, "start", "event [%s] already started, ignored" % key)
                return False
            self._timed[key] = core.clock.ticks()
            return True
        except Exception as e:
            core.internal_error(_M, "start", e)
            return False

    def end(self, key, segmentation=None, count=1, sum=0):
        core = self._core
        try:
            core.log.i(_M, "end", "key=[%s]" % key)
            key = limits.key(core, key, _M, "end")
            if key is None:
                return False
            started = self._timed.pop(key, None)
            if started is None:
                core.log.w(_M, "end", "event [%s] was not started, ignored" % key)
                return False
            return self.add(key, count, sum, None, segmentation, dur_ms=core.clock.since(started))
        except Exception as e:
            core.internal_error(_M, "end", e)
            return False

    def cancel(self, key):
        core = self._core
        try:
            core.log.i(_M, "cancel", "key=[%s]" % key)
            if key in self._timed:
                del self._timed[key]
                return True
            core.log.w(_M, "cancel", "event [%s] was not started, ignored" % key)
            return False
        except Exception as e:
            core.internal_error(_M, "cancel", e)
            return False

    def clear_timed(self):
        self._timed = {}

    def combine(self):
        # Moves persisted events into requests, one request per batch, oldest first.
        core = self._core
        eq = core.event_queue
        while len(eq):
            body = bytearray(b"[")
            last = None
            for seq, data in eq.items():
                if last is not None and len(body) + len(data) > _MAX_BATCH_BYTES:
                    break
                if last is not None:
                    body.append(44)  # ","
                body.extend(data)
                last = seq
            body.append(93)  # "]"
            encoded = bytearray(b"events=")
            quote_into(encoded, body)
            body = None
            core.enqueue(encoded, marker=last)
            eq.ack(last)
