# request.py - turns a feature's params into a queued record, and a record into an HTTP request.
#
# A record is what the flash queue keeps: b"<flags>\n<param string>". The param string already
# holds the base params in the fixed order (app_key, device_id, timestamp, hour, dow, tz,
# sdk_name, sdk_version) followed by the feature's own params, all percent-encoded. Only `rr`
# and the checksum are added at send time, so a retry is byte-identical except for those two.
# Flags are space-separated tokens: "P" forces POST (crashes), "E<seq>" marks the request that
# carries the persisted events up to event-queue sequence <seq>, "U<boot>:<ticks>" marks a
# request made before the wall clock was valid (see retime).

from .wire import encode_params, quote_into, with_checksum

SDK_VERSION = "26.1.0"
_GET_LIMIT = 2000  # the guide: switch to POST when the data reaches 2000 characters


class RequestBuilder:
    def __init__(self, core):
        self._core = core

    def record(self, params, force_post=False, marker=None, timestamp=None):
        # params: list of (name, value), None values skipped; or an encoded b"k=v&...".
        core = self._core
        clock = core.clock
        ts = timestamp if timestamp is not None else clock.now_ms()
        tz = clock.tz()
        out = bytearray()
        flags = []
        if force_post:
            flags.append("P")
        if marker is not None:
            flags.append("E%d" % marker)
        if ts is None:
            flags.append(clock.marker())
        out.extend(" ".join(flags).encode())
        out.append(10)  # "\n"
        body = bytearray()
        base = [("app_key", core.config.app_key), ("device_id", core.device_id_value())]
        encode_params(base, body)
        if ts is not None:
            # An unsynced clock is not a valid timestamp: the record carries a ticks marker
            # instead (see retime), never a date in 2000.
            hour, dow = clock.hour_dow(ts, tz)
            encode_params((("timestamp", ts), ("hour", hour), ("dow", dow)), body)
        encode_params((("tz", tz), ("sdk_name", core.sdk_name), ("sdk_version", SDK_VERSION)),
                      body)
        if isinstance(params, (bytes, bytearray)):
            # Already encoded (the events batch is streamed straight into its encoded form).
            body.append(38)  # "&"
            body.extend(params)
        else:
            encode_params(params, body)
        out.extend(body)
        return bytes(out)


def split_record(record):
    # -> (flags list, param string bytes)
    i = record.find(b"\n")
    if i < 0:
        return [], record
    head = record[:i].decode()
    return (head.split() if head else []), record[i + 1 :]


def event_marker(flags):
    for f in flags:
        if f and f[0] == "E":
            try:
                return int(f[1:])
            except ValueError:
                return None
    return None


def finalize(record, queue_length, salt, force_post):
    # -> (method, path, body or None, content_type or None) ready for the transport.
    flags, params = split_record(record)
    payload = bytearray(params)
    payload.extend(b"&rr=")
    quote_into(payload, queue_length)
    payload = with_checksum(payload, salt)
    if force_post or "P" in flags or len(payload) >= _GET_LIMIT:
        return "POST", "/i", bytes(payload), "application/x-www-form-urlencoded"
    return "GET", "/i?" + bytes(payload).decode(), None, None


_EVENT_TS = b"%2C%22timestamp%22%3A%22U"  # ',"timestamp":"U' inside an encoded events param
_QUOTE = b"%22"


def retime(record, clock, tz):
    # Resolves the "U" markers of a record made before the clock was valid: the request gets
    # timestamp/hour/dow before its tz param, each event its own; when the marker's boot is gone
    # (or no valid time was seen yet) they are left out and the server stamps the request.
    flags, params = split_record(record)
    marker = None
    for f in flags:
        if f and f[0] == "U":
            marker = f
    if marker is None and _EVENT_TS not in params:
        return record
    out = bytearray(" ".join(f for f in flags if f != marker).encode())
    out.append(10)
    mv = memoryview(params)
    pos = 0
    if marker is not None:
        ts = clock.epoch_of_marker(marker)
        i = params.find(b"&tz=")
        if ts is not None and i >= 0:
            hour, dow = clock.hour_dow(ts, tz)
            out.extend(mv[:i])
            out.extend(b"&timestamp=%d&hour=%d&dow=%d" % (ts, hour, dow))
            pos = i
    while True:
        # One pass, appending into `out`: no copy of the whole request per event.
        i = params.find(_EVENT_TS, pos)
        if i < 0:
            break
        start = i + len(_EVENT_TS) - 1  # at the "U"
        end = params.find(_QUOTE, start)
        if end < 0:
            break
        out.extend(mv[pos:i])
        ts = clock.epoch_of_marker(bytes(mv[start:end]).decode().replace("%3A", ":"))
        if ts is not None:
            hour, dow = clock.hour_dow(ts, tz)
            out.extend(b"%%2C%%22timestamp%%22%%3A%d%%2C%%22hour%%22%%3A%d%%2C%%22dow%%22%%3A%d"
                       % (ts, hour, dow))
        pos = end + len(_QUOTE)
    out.extend(mv[pos:])
    return bytes(out)
