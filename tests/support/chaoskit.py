# chaoskit.py - what the chaos tests share: the hostile server's URL (started in-process on
# CPython, from COUNTLY_TEST_HOSTILE on MicroPython), its control calls and a ms clock. Small,
# so that test_sdk_chaos does not load the transport chaos tests into its heap.

import os
import sys
import time

_MP = sys.implementation.name == "micropython"
_state = {"url": None}


def _here():
    f = globals().get("__file__") or "tests/support/chaoskit.py"
    i = f.rfind("/")
    return f[:i] if i >= 0 else "."


def _setup_paths():
    base = _here() + "/../.."
    for sub in ("/lib", "/ports/common", "/ports/unix", "/tests/support"):
        if base + sub not in sys.path:
            sys.path.append(base + sub)


def url():
    """URL of the hostile server, or None (-> skip)."""
    if _state["url"]:
        return _state["url"]
    u = os.getenv("COUNTLY_TEST_HOSTILE")
    if not u and not _MP:
        _setup_paths()
        import hostile_server
        srv = hostile_server.HostileServer(seed=7).start()
        _state["server"] = srv
        u = srv.url
    _state["url"] = u
    return u


def skip(name):
    print("skip: %s (COUNTLY_TEST_HOSTILE not set)" % name)


def ctl(what, method="GET"):
    _setup_paths()
    import hostile_ctl
    return hostile_ctl.ctl(url(), what, method)


def now_ms():
    if _MP:
        return time.ticks_ms()
    return int(time.monotonic() * 1000)


def since(t0):
    if _MP:
        return time.ticks_diff(time.ticks_ms(), t0)
    return now_ms() - t0


def params_without_rr(path, body):
    # A request's parameters without rr, as the hostile server hashes them.
    raw = bytes(body) if body is not None else (path.encode() if isinstance(path, str)
                                                 else bytes(path))
    if body is None:
        raw = raw[raw.find(b"?") + 1 :]
    i = raw.find(b"&rr=")
    j = raw.find(b"&", i + 1)
    return raw[:i] + (raw[j:] if j > 0 else b"")
