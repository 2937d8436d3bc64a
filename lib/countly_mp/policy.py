# policy.py - what a server's answer means for the request that got it.
#
#   OK       delivered: removed from the queue
#   RETRY    keep it, back off (growing cooldown, capped), send the identical request again
#   PAUSE    keep it and everything behind it: a configuration problem that every request
#            would hit (unknown or paused app, wrong salt, wrong URL, not a Countly server);
#            delivery pauses and the reason is printed once
#   REFUSED  the server refused this request with an answer we do not know: retried a few
#            times (the server may have been in trouble), then dropped and reported
#   DROP     the server says this request itself can never be accepted: dropped, counted,
#            reported
#
# Only an answer that is a JSON object with "result" is Countly's; anything else (an HTML error
# page, a proxy's answer, a captive portal) never counts as delivered. docs/api.md has the table.

from .compat import const, loads

OK = const(0)  # the same values as sender.py's
RETRY = const(1)
PAUSE = const(2)
DROP = const(3)
REFUSED = const(4)

# 200 answers that mean the data was thrown away because our salt is wrong.
_CHECKSUM = ("Request does not have checksum", "Request does not match checksum")
# 4xx answers that name a configuration problem: every later request would fail the same way.
_CONFIG = ('Missing parameter "app_key" or "device_id"', "App does not exist",
           "App is currently not accepting data", "App is locked", "Invalid path")
# 400 answers a real Countly server gives when its storage fails for a moment: try again.
_TRANSIENT = ("Could not ingest data", "Cannot get app user", "Cannot update user",
              "Cannot create uid", "User merged. Failed to record data.")
_TRANSIENT_PREFIX = "Could not record events"
# Status codes that say this request is too large for the server or a proxy in front of it.
_TOO_LARGE = (413, 414, 431)


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
    # -> (outcome, reason): reason is short text for logs and status(), never the payload.
    result = result_of(body)
    text = result if isinstance(result, str) else None
    if 200 <= status < 300:
        if result is None:
            return RETRY, "HTTP %d without a Countly answer" % status
        if text in _CHECKSUM:
            return PAUSE, text + " (check the salt)"
        return OK, None
    if status == 408 or status == 429 or status >= 500:
        return RETRY, _reason(status, text)
    if 300 <= status < 400:
        return PAUSE, "HTTP %d redirect (check the server url)" % status
    if status in _TOO_LARGE:
        return DROP, "HTTP %d: request too large for the server" % status
    if 400 <= status < 500:
        if text is None or status in (401, 403, 404, 405):
            return PAUSE, "HTTP %d, not a Countly answer (check the server url)" % status \
                if text is None else _reason(status, text) + " (check the server url)"
        if text in _CONFIG:
            return PAUSE, _reason(status, text) + " (check app_key and url)"
        if text in _TRANSIENT or text.startswith(_TRANSIENT_PREFIX):
            return RETRY, _reason(status, text)
        return REFUSED, _reason(status, text)
    return RETRY, "HTTP %d" % status  # 1xx and the like: nothing we can act on, try again


def _reason(status, text):
    if text is None:
        return "HTTP %d" % status
    return "HTTP %d %s" % (status, text[:120])
