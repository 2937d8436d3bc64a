# rcfetch.py - remote config downloads (remote_config.py loads this module for a download and
# drops it after). `/o/sdk?method=rc` (or the legacy `method=fetch_remote_config`) in the call,
# one exchange bounded by http_timeout; the answer is capped by rc_answer_max, a larger one is
# refused and the values held stay. A full download replaces the values (and those kept from a
# previous user), a partial one (download_keys, download_omitting) updates the keys it got.

from .compat import dumps
from .log import ERROR, WARNING
from .request import metrics_json
from .results import RCData, RequestResult

_M = "RemoteConfig"


def _keys(value):
    # A non-empty list of strings, or None.
    if isinstance(value, (list, tuple)) and value and all(isinstance(k, str) for k in value):
        return list(value)
    return None


def download(rc, function, keys, callback):
    # keys: those to download (download_keys) or to leave out (download_omitting).
    core = rc._core
    result, error, delta = RequestResult.ERROR, None, {}
    partial = function in ("download_keys", "download_omitting")
    try:
        core.log.i(_M, function, "callback=%s", callback is not None)
        if partial and _keys(keys) is None:
            error = "keys must be a non-empty list of strings"
            core.log.w(_M, function, error)
        elif not core.ready or core._stopped:
            error = "SDK not running"
            core.log.w(_M, function, error)
        elif not core.consent_has("remote-config"):
            error = "no remote-config consent"
            core.log.w(_M, function, error)
        else:
            result, got = _fetch(core, function, keys)
            if result != RequestResult.SUCCESS:
                error = got
            elif not isinstance(got, dict):
                result, error = RequestResult.ERROR, "answer is not an object of values"
                core.log.e(_M, function, error)
            else:
                result, error = _store(rc, function, got, partial)
                if result == RequestResult.SUCCESS:
                    for k in got:
                        delta[k] = RCData(got[k], True)
    except Exception as e:
        core.internal_error(_M, function, e)
        result, error = RequestResult.ERROR, "internal error"
    for cb in ([callback] if callback is not None else []) + rc.callbacks:
        try:
            cb(result, error, not partial, delta)
        except Exception as e:  # the app's callback must not break the SDK's state
            core.log.e(_M, "callback", "callback raised %s: %s", type(e).__name__, e)
    return result


def _fetch(core, function, keys):
    cfg = core.config
    legacy = cfg.rc_legacy_api
    if legacy and not cfg.rc_enroll_ab_on_download:
        # The legacy method always enrolls in A/B tests: not enrolling needs method=rc.
        core.log.notice("rc-legacy", WARNING, _M, function, "rc_legacy_api enrolls in A/B "
                        "tests; without rc_enroll_ab_on_download method=rc is used")
        legacy = False
    params = [("method", "fetch_remote_config" if legacy else "rc")]
    if core.consent_has("sessions"):
        params.append(("metrics", metrics_json(core)))
    if keys is not None:
        params.append(("keys" if function == "download_keys" else "omit_keys",
                       dumps(list(keys))))
    if cfg.rc_enroll_ab_on_download and not legacy:
        params.append(("oi", 1))
    from .fetch import call

    return call(core, "/o/sdk", params, cfg.rc_answer_max, _M, function)


def _store(rc, function, got, partial):
    # Values held never exceed rc_answer_max bytes of JSON: a partial answer that would make
    # them larger is refused like an answer over the cap.
    rc.load()
    if partial:
        values = dict(rc.values)
        for k in got:
            values[k] = got[k]
        stale = [k for k in rc.stale if k not in got]
    else:
        values, stale = got, []
    body = dumps([values, stale]).encode()
    cap = rc._core.config.rc_answer_max
    if len(body) - len(dumps(stale)) - 3 > cap:
        rc._core.log.notice("rc-cap", ERROR, _M, function, "values would exceed %d bytes: "
                            "update refused, previous values kept", cap)
        return RequestResult.ERROR, "values would exceed %d bytes" % cap
    rc.values, rc.stale = values, stale
    rc.save(body)
    return RequestResult.SUCCESS, None
