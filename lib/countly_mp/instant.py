# instant.py - one request sent now, outside the queue, for the features that need an answer in
# the call: remote config, A/B variants, feedback widgets, server configuration, the health
# check. Same base params, checksum and transport as queued requests; one exchange bounded by
# http_timeout. Loaded only by the features that use it.

from .compat import const, sha256_hex
from .wire import encode_params

_GET_LIMIT = const(2000)  # the guide: switch to POST when the data reaches 2000 characters
_EAGAIN = const(11)


def request(core, path, params, max_body=4096, post=False):
    # -> (status, answer bytes, truncated). Raises OSError when it cannot be sent now (offline,
    # temporary ID mode, another request in flight) or the exchange failed; the caller keeps
    # what it had and says so.
    sender = core.sender
    if not core.platform.is_online():
        raise OSError(_EAGAIN, "offline")
    if core.device_id_type == "TEMPORARY_ID":
        raise OSError(_EAGAIN, "temporary device ID: no request until a real ID is set")
    if (core.config.ca_data is not None and core.server_url.startswith("https")
            and not core.clock.valid()):
        raise OSError(_EAGAIN, "no valid clock yet: the certificate check needs the date")
    if sender._buf is not None and sender._buf.owner is not None:
        raise OSError(_EAGAIN, "a request is in flight")
    rec = core.builder.record(params)
    payload = bytearray(rec[rec.find(b"\n") + 1 :])
    encode_params((("rr", len(core.request_queue)),), payload)
    salt = core.config.salt
    if salt:
        payload.extend(b"&checksum256=" + sha256_hex(bytes(payload) + salt.encode()).encode())
    t = sender.open()
    if post or len(payload) >= _GET_LIMIT:
        got = _exchange(t, "POST", path, payload, "application/x-www-form-urlencoded", max_body)
    else:
        got = _exchange(t, "GET", path + "?" + bytes(payload).decode(), None, None, max_body)
    return got[0], got[2], getattr(t, "truncated", False)


def _exchange(t, method, path, body, ctype, max_body):
    try:
        return t.exchange(method, path, body, ctype, max_body=max_body)
    except OSError:
        t.close()
        raise
