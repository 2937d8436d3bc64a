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
#
# Loaded by sender.py for any answer but the usual Success: apply() does what the outcome
# means to the request and to the sender's cooldown; poison() sets aside a record that cannot
# be built.

from .compat import const, loads
from .log import ERROR, WARNING

OK = const(0)  # the same values as sender.py's
RETRY = const(1)
PAUSE = const(2)
DROP = const(3)
REFUSED = const(4)

_BACKOFF_CAP_S = const(1800)  # a growing retry cooldown stops growing at 30 minutes
_PAUSE_MIN_S = const(600)  # a configuration problem is retried after 10 minutes at first,
_PAUSE_CAP_S = const(86400)  # then less and less often, at most a day apart
_RETRY_AFTER_CAP_S = const(86400)  # a server's Retry-After is honoured up to a day
_REFUSALS = const(3)  # an unknown refusal of one request is retried this many times
_M = "Sender"

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


def apply(sender, seq, through, status, retry_after, answer, error):
    # The outcome of one exchange that was not the usual Success, applied. -> the outcome
    core = sender._core
    if error is not None:
        sender.close()
        status = 0
        outcome = RETRY
        reason = "network error %s" % (error.args[0] if error.args else error)
    else:
        outcome, reason = classify(status, answer)
    sender.last_status = status
    if outcome == REFUSED:
        n = sender._refused[1] + 1 if sender._refused[0] == seq else 1
        sender._refused = (seq, n)
        outcome = DROP if n >= _REFUSALS else RETRY
    if outcome == OK:  # a 2xx Countly answer worded differently: delivered all the same
        sender.delivered += 1
        sender._fails = sender._pauses = 0
        sender.paused_reason = None
        sender._ack(seq, through)
        return OK
    sender.last_reason = reason
    if error is None:
        sender.failed = (status, bytes(answer[:1000]) if answer else b"")  # health check
    if outcome == DROP:
        sender.dropped += 1
        core.log.notice("drop:" + reason[:24], ERROR, _M, "send",
                        "request dropped, the server will not take it: %s", reason)
        sender._ack(seq, through)
    elif outcome == PAUSE:
        sender._pauses += 1
        wait = min(max(_PAUSE_MIN_S, core.config.retry_cooldown * 10)
                   << min(sender._pauses - 1, 8), _PAUSE_CAP_S)
        sender._cool(wait, True)
        sender.paused_reason = reason
        core.log.notice("pause:" + reason[:24], ERROR, _M, "send",
                        "delivery paused for %d s: %s; requests are kept", wait, reason)
    else:
        sender.retried += 1
        sender._fails += 1
        base = max(core.config.retry_cooldown, 1)
        wait = min(base << min(sender._fails - 1, 16), max(base, _BACKOFF_CAP_S))
        hard = False
        if retry_after is not None and retry_after > wait:
            wait = min(retry_after, _RETRY_AFTER_CAP_S)  # a floor, never a way to retry sooner
            hard = True
        sender._cool(wait, hard)
        core.log.notice("retry:" + reason[:12], WARNING, _M, "send",
                        "send failed (%s), retrying in %d s; requests are kept", reason, wait)
    return outcome


def poison(sender, seq, through, exc):
    # A record that cannot be built can never be sent: set aside (its bytes kept in the
    # store's "poison" file for a developer), counted, reported; the queue flows on.
    core = sender._core
    sender.poisoned += 1
    try:
        head = core.request_queue.peek()
        if head is not None and head[0] == seq:
            core.store.write("poison", head[1])
    except Exception:
        pass
    core.log.notice("poison", ERROR, _M, "send", "unsendable request set aside (%s: %s)",
                    type(exc).__name__, exc)
    sender._ack(seq, through)
