# fetch.py - one request answered now (instant.py) and what its answer means, for the features
# that need the answer in the call: remote config, A/B tests, feedback widgets, the server
# configuration. call() -> (RequestResult, JSON value or error text).
#
# Every answer is read with a cap: a larger one is refused with an error line, and the caller
# keeps what it had. A Countly error is 4xx/5xx with {"result": "..."}; a 2xx whose only key
# is "result" naming a checksum problem is an error too (the server answers a wrong salt with
# 200), never remote config values.

from .compat import loads
from .log import ERROR, WARNING
from .results import RequestResult

_CHECKSUM = ("Request does not have checksum", "Request does not match checksum")
_EM_MAX = 1000  # characters of a failed answer kept for the health check


def call(core, path, params, cap, module, function, always=False, level=ERROR):
    # always: sent even while the server configuration turns networking off (the server
    # configuration itself: only it can turn networking back on). level: of the line that
    # says the server refused (a Warning where that only means a feature is unavailable).
    if not always and not core.networking:
        return _fail(core, module, function, WARNING, "networking is off (server configuration)")
    if core.device_id_type == "TEMPORARY_ID":
        return _fail(core, module, function, WARNING, "temporary device ID: nothing is sent "
                     "until a real ID is set")
    from .instant import request

    try:
        status, body, truncated = request(core, path, params, max_body=cap)
    except OSError as e:
        core.log.w(module, function, "no answer: %s", e)
        return RequestResult.NETWORK_ISSUE, "no answer: %s" % e
    if truncated:
        return _fail(core, module, function, ERROR, "answer larger than %d bytes refused, "
                     "previous values kept" % cap, "cap:" + function)
    try:
        value = loads(body) if body else None
    except Exception:  # ValueError on CPython; MicroPython may raise others
        value = None
    result = value.get("result") if isinstance(value, dict) else None
    if 200 <= status < 300:
        if value is None:
            return _fail(core, module, function, ERROR, "HTTP %d without a Countly answer"
                         % status)
        if len(value) == 1 and result in _CHECKSUM:
            return _fail(core, module, function, ERROR, result + " (check the salt)",
                         "salt:" + function)
        return RequestResult.SUCCESS, value
    failed(core, status, body)
    if isinstance(result, str):
        return _fail(core, module, function, level, "HTTP %d %s" % (status, result[:120]))
    return _fail(core, module, function, level, "HTTP %d, not a Countly answer" % status)


def failed(core, status, body):
    # The last failed request and the start of its answer, for the health check.
    core.sender.failed = (status, bytes(body[:_EM_MAX]) if body else b"")


def _fail(core, module, function, level, text, cause=None):
    # cause: said once even with logging off (the caps and a wrong salt stop a feature)
    if cause is not None:
        core.log.notice(cause, level, module, function, text)
    else:
        core.log.log(level, module, function, text)
    return RequestResult.ERROR, text
