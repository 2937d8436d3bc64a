# recv.py - test-side access to the local receiver over its HTTP read/control API.
# Works on both runtimes: the MicroPython tests cannot call the receiver's Python methods, so
# everything goes through /_receiver/* on 127.0.0.1. The receiver URL comes from
# COUNTLY_TEST_RECEIVER and its control token from COUNTLY_TEST_RECEIVER_TOKEN; the token goes
# in the query string because the transport client sends no custom headers.

import json
import os


def url():
    return os.getenv("COUNTLY_TEST_RECEIVER")


def _call(method, path, body=None):
    from countly_http import HTTPClient

    if body is not None:
        path += "?token=" + (os.getenv("COUNTLY_TEST_RECEIVER_TOKEN") or "")
    c = HTTPClient(url(), 10000, max_body=1 << 20)  # table reads can be large
    try:
        data = None if body is None else json.dumps(body).encode()
        status, _, answer = c.exchange(method, path, data,
                                       None if data is None else "application/json")
    finally:
        c.close()
    if status != 200:
        raise OSError("receiver answered %d: %s" % (status, answer[:200]))
    return json.loads(answer) if answer else None


def rows(table, **filters):
    from countly_mp.wire import encode_params

    q = ""
    if filters:
        q = "?" + bytes(encode_params([(k, filters[k]) for k in filters])).decode()
    return _call("GET", "/_receiver/" + table + q)


def reset():
    _call("POST", "/_receiver/reset", {})


def fault(mode, count=None, retry_after=None, hang_s=None, fraction=None, seed=None):
    _call("POST", "/_receiver/fault",
          {"mode": mode, "count": count, "retry_after": retry_after, "hang_s": hang_s,
           "fraction": fraction, "seed": seed})


def set_app(key, salt=None, paused=False):
    _call("POST", "/_receiver/app", {"key": key, "salt": salt, "paused": paused})


def set_fixtures(app_key=None, **changes):
    # e.g. set_fixtures(remote_config={"k": 2}): served from the next request on.
    if app_key is not None:
        changes["app_key"] = app_key
    _call("POST", "/_receiver/fixtures", changes)


def stats():
    return _call("GET", "/_receiver/stats")
