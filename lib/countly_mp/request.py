# request.py - turns a feature's params into a queued record, and a record into an HTTP request.
#
# A record is what the flash queue keeps: b"<flags>\n<param string>". The param string already
# holds the base params in the fixed order (app_key, device_id, timestamp, hour, dow, tz,
# sdk_name, sdk_version) followed by the feature's own params, all percent-encoded. Only `rr`
# and the checksum are added at send time, so a retry is byte-identical except for those two.
# Flags are space-separated tokens:
#   P              send by POST (crashes)
#   R<a>-<b>       an events request: its `events` value is built at send time from the event
#                  queue's items a..b (the events are stored once, never copied into requests)
#   C<seq>         the event queue was claimed through <seq> when this record was made: the
#                  newest record tells a restarted SDK which events are already in a request
#   U<boot>:<t>    made before the wall clock was valid (see retime)
#
# REQUEST_MAX is the one budget everything derives from (docs/internals.md): no stored param
# string is longer, so every request fits the queue and the send buffer.

from .compat import const, dumps
from .wire import encode_params, quote_into

SDK_VERSION = "26.1.0"
REQUEST_MAX = const(5120)  # bytes of percent-encoded params in one stored request
FLAGS_MAX = const(64)  # bytes of the flag line: the queue holds REQUEST_MAX + FLAGS_MAX


class TooLarge(ValueError):
    # A request over REQUEST_MAX: the caller trims or refuses; it is never queued.
    pass


class RequestBuilder:
    def __init__(self, core):
        self._core = core
        self._base = None  # (device id, encoded length of the base params)

    def base_len(self):
        # Bytes the base params take for the current device ID (timestamp at its longest).
        core = self._core
        did = core.current_id
        if self._base is None or self._base[0] != did:
            body = encode_params((("app_key", core.config.app_key), ("device_id", did),
                                  ("timestamp", 9999999999999), ("hour", 23), ("dow", 6),
                                  ("tz", -7200), ("sdk_name", core.sdk_name),
                                  ("sdk_version", SDK_VERSION)))
            self._base = (did, len(body))
        return self._base[1]

    def room(self, name):
        # Bytes left for the encoded value of one param `name` in a request of its own.
        return REQUEST_MAX - self.base_len() - len(name) - 2

    def record(self, params, flags=None, timestamp=None):
        # params: list of (name, value), None values skipped; or an encoded b"k=v&...".
        core = self._core
        clock = core.clock
        ts = timestamp if timestamp is not None else clock.now_ms()
        tz = clock.tz()
        flags = list(flags) if flags else []
        if ts is None:
            flags.append(clock.marker())
        out = bytearray(" ".join(flags).encode())
        out.append(10)  # "\n"
        start = len(out)
        out.extend(b"app_key=")
        quote_into(out, core.config.app_key)
        out.extend(b"&device_id=")
        quote_into(out, core.current_id)
        if ts is not None:
            # An unsynced clock is not a valid timestamp: the record carries a ticks marker
            # instead (see retime), never a date in 2000.
            hour, dow = clock.hour_dow(ts, tz)
            out.extend(b"&timestamp=%d&hour=%d&dow=%d" % (ts, hour, dow))
        # encode_params puts "&" before each pair, since `out` is not empty
        encode_params((("tz", tz), ("sdk_name", core.sdk_name), ("sdk_version", SDK_VERSION)),
                      out)
        if isinstance(params, (bytes, bytearray)):
            if params:
                out.append(38)  # "&"
                out.extend(params)
        else:
            encode_params(params, out)
        if len(out) - start > REQUEST_MAX:
            raise TooLarge("request of %d bytes over the %d budget" % (len(out) - start,
                                                                       REQUEST_MAX))
        return bytes(out)


def split_record(record):
    # -> (flags list, param string as a memoryview of record: no copy)
    i = record.find(b"\n")
    mv = memoryview(record)
    if i < 0:
        return [], mv
    head = bytes(mv[:i]).decode()
    return (head.split() if head else []), mv[i + 1 :]


def flag_value(flags, letter):
    # The text after `letter` of the first flag starting with it, or None.
    for f in flags:
        if f and f[0] == letter:
            return f[1:]
    return None


RETIME_GROWTH = const(24)  # bytes an event's marker may grow by when it becomes a timestamp
# Events are stored with their timestamp alone: the hour and the day of week follow from it
# and are added as the request is built (hour_dow_tail), so a typical event fits one 128-byte
# flash-ring record. Encoded bytes they add to a request, at most (',"hour":23,"dow":6').
HOUR_GROWTH = const(34)
_EV_MARK = b',"timestamp":"U'
_EV_TS = b',"timestamp":'


def time_params(clock, tz, marker):
    # b"&timestamp=..&hour=..&dow=.." for a request made before the clock was valid, or None
    # when its boot is gone (or no valid time was seen yet): the server then stamps it.
    ts = clock.epoch_of_marker(marker)
    if ts is None:
        return None
    hour, dow = clock.hour_dow(ts, tz)
    return b"&timestamp=%d&hour=%d&dow=%d" % (ts, hour, dow)


def hour_dow_tail(data, clock, tz):
    # For an event stored with its timestamp alone: the bytes that replace its closing "}",
    # its local hour and day of week (the same on every retry). None for an event stored with
    # them, or without a timestamp. The caller sends data[:-1] and this, copying nothing.
    i = data.rfind(_EV_TS)
    if i < 0 or data[-1] != 125:  # "}"
        return None
    digits = data[i + len(_EV_TS) : -1]
    if not digits or not digits.isdigit():
        return None
    hour, dow = clock.hour_dow(int(digits), tz)
    return b',"hour":%d,"dow":%d}' % (hour, dow)


def retime_event(data, clock, tz):
    # An event's JSON with its ticks marker resolved the same way: the same bytes on every
    # retry, as the server's duplicate check needs.
    i = data.find(_EV_MARK)
    if i < 0:
        return data
    end = data.find(b'"', i + len(_EV_MARK))
    ts = clock.epoch_of_marker(bytes(data[i + len(_EV_MARK) - 1 : end]).decode())
    if ts is None:
        return data[:i] + data[end + 1 :]
    hour, dow = clock.hour_dow(ts, tz)
    return data[:i] + b',"timestamp":%d,"hour":%d,"dow":%d' % (ts, hour, dow) + data[end + 1 :]


def metrics_json(core):
    # The begin_session (and remote config) metrics: the port's, the app version, Config's own.
    m = core.platform.metrics()
    m["_app_version"] = core.config.app_version
    for k in core.config.metrics:
        m[k] = core.config.metrics[k]
    return dumps(m)
