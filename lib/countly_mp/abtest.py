# abtest.py - A/B tests (remote_config.py loads this module for a call and drops it after):
# enrolling in the tests of some keys and leaving them, and, for testing an app (the guide's
# "Variant Control API", not meant for production), the variants of each key, kept in memory
# only, and enrolling this device in a chosen variant.
#
#   enroll_ab        /o/sdk?method=ab&keys=[..], answered now: True when the server confirmed
#   exit_ab          /i?method=ab_opt_out[&keys=[..]], queued like any request (durable)
#   download_variants /o/sdk?method=ab_fetch_variants -> {key: [variant names]}
#   enroll_variant   /i?method=ab_enroll_variant&key=..&variant=.., answered now

from .compat import dumps
from .results import RequestResult

_M = "RemoteConfig"
_CONSENT = "remote-config"


def _keys(value):
    if isinstance(value, (list, tuple)) and value and all(isinstance(k, str) for k in value):
        return list(value)
    return None


def _allowed(core, function):
    if not core.ready or core._stopped:
        core.log.w(_M, function, "SDK not running, ignored")
        return False
    if not core.consent_has(_CONSENT):
        core.log.w(_M, function, "no remote-config consent, ignored")
        return False
    return True


def enroll_ab(rc, keys):
    core = rc._core
    try:
        core.log.i(_M, "enroll_ab")
        if _keys(keys) is None:
            core.log.e(_M, "enroll_ab", "keys must be a non-empty list of strings")
            return False
        if not _allowed(core, "enroll_ab"):
            return False
        from .fetch import call

        result, got = call(core, "/o/sdk", [("method", "ab"), ("keys", dumps(list(keys)))],
                           256, _M, "enroll_ab")
        if result == RequestResult.SUCCESS:
            core.log.d(_M, "enroll_ab", "answer: %s", got.get("result"))
        return result == RequestResult.SUCCESS
    except Exception as e:
        core.internal_error(_M, "enroll_ab", e)
        return False


def exit_ab(rc, keys):
    # -> True when the request is on flash; it is delivered like any other.
    core = rc._core
    try:
        core.log.i(_M, "exit_ab")
        if keys is not None and _keys(keys) is None:
            core.log.e(_M, "exit_ab", "keys must be a non-empty list of strings or None")
            return False
        if not _allowed(core, "exit_ab"):
            return False
        params = [("method", "ab_opt_out")]
        if keys is not None:
            params.append(("keys", dumps(list(keys))))
        return core.enqueue(params)
    except Exception as e:
        core.internal_error(_M, "exit_ab", e)
        return False


def _notify(core, callback, result, error):
    if callback is None:
        return
    try:
        callback(result, error)
    except Exception as e:  # the app's callback must not break the SDK's state
        core.log.e(_M, "callback", "callback raised %s: %s", type(e).__name__, e)


def download_variants(rc, callback):
    core = rc._core
    result, error = RequestResult.ERROR, None
    try:
        core.log.i(_M, "testing_download_variants", "callback=%s", callback is not None)
        if _allowed(core, "testing_download_variants"):
            from .fetch import call

            result, got = call(core, "/o/sdk", [("method", "ab_fetch_variants")],
                               core.config.rc_answer_max, _M, "testing_download_variants")
            if result != RequestResult.SUCCESS:
                error = got
            else:
                parsed = _parse(got)
                if parsed is None:
                    result, error = RequestResult.ERROR, "answer is not a variant list"
                    core.log.e(_M, "testing_download_variants", error)
                else:
                    rc.variants = parsed
        else:
            error = "not allowed"
    except Exception as e:
        core.internal_error(_M, "testing_download_variants", e)
        result, error = RequestResult.ERROR, "internal error"
    _notify(core, callback, result, error)
    return result


def _parse(got):
    # {"key": [{"name": .., "value": ..}, ..]} -> {"key": [names]}, or None.
    if not isinstance(got, dict):
        return None
    out = {}
    for key in got:
        entries = got[key]
        if not isinstance(entries, list):
            return None
        out[key] = [e["name"] for e in entries if isinstance(e, dict) and "name" in e]
    return out


def get_all_variants(rc):
    rc._core.log.i(_M, "testing_get_all_variants")
    out = {}
    for k in rc.variants or {}:
        out[k] = list(rc.variants[k])
    return out


def get_variants(rc, key):
    rc._core.log.i(_M, "testing_get_variants", "key=[%s]", key)
    names = (rc.variants or {}).get(key)
    return None if names is None else list(names)


def enroll_variant(rc, key, variant, callback):
    core = rc._core
    result, error = RequestResult.ERROR, None
    try:
        core.log.i(_M, "testing_enroll_variant", "key=[%s], variant=[%s]", key, variant)
        if not isinstance(key, str) or not key or not isinstance(variant, str) or not variant:
            error = "key and variant must be non-empty strings"
            core.log.w(_M, "testing_enroll_variant", error)
        elif not _allowed(core, "testing_enroll_variant"):
            error = "not allowed"
        else:
            from .fetch import call

            result, got = call(core, "/i", [("method", "ab_enroll_variant"), ("key", key),
                                            ("variant", variant)], 256, _M,
                               "testing_enroll_variant")
            if result != RequestResult.SUCCESS:
                error = got
    except Exception as e:
        core.internal_error(_M, "testing_enroll_variant", e)
        result, error = RequestResult.ERROR, "internal error"
    _notify(core, callback, result, error)
    return result
