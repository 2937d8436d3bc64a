# jobs.py - the SDK's own one-shot exchanges, made by tick() only when the queue has nothing
# to send now:
#   "sc"  the server configuration, once per start (serverconfig.py)
#   "sc@" the same, again every "scui" hours when the server asks for it
#   "hc"  the health check, once per start (health.py)
#   "rc"  a remote config download started by a trigger: init, consent given, a device ID
#         change, leaving temporary ID mode (remote_config.py)
# They never delay the app's data, never add a second exchange to a tick, and wait as the
# queue does: for the network, a real device ID, the end of a backoff or a pause. A job that
# gets no answer is tried again after retry_cooldown (doubling), three times at most. tick()
# loads this module while jobs wait; it is dropped when none is left.

from .compat import const, drop_module, dumps, loads
from .log import WARNING
from .sender import OK, RETRY

_M = "Countly"
_TRIES = const(3)
_SC_CAP = const(4096)  # bytes of a server configuration answer; a larger one is refused
TIMED = "sc@"


def add(core, name):
    if name not in core.jobs:
        core.jobs.append(name)


def step(core):
    # -> OK or RETRY when an exchange was made, None when nothing was tried.
    if (not core.platform.is_online() or core.device_id_type == "TEMPORARY_ID"
            or core.sender.wait_left_ms()):
        return None
    if not core.clock_ready():
        return None  # the queue waits for the clock, so do the jobs
    # State lives on the Countly object (this module is dropped between jobs); MicroPython
    # lets __dict__ be read, not written: attributes are set with setattr.
    d = core.__dict__
    state = d.get("_job")  # (ticks, wait ms, tries) of the job that got no answer, or None
    if state is not None and core.clock.since(state[0]) < state[1]:
        return None
    name = None
    for job in core.jobs:
        if job != TIMED or core.clock.since(d["_sc_due"][0]) >= d["_sc_due"][1]:
            name = job
            break
    if name is None:
        return None
    core.log.d(_M, "tick", "job %s", name)
    try:
        done = _run(core, name)
    except Exception as e:
        # Out of memory is counted as a try (never a tight loop); anything else is a bug or
        # a transport that cannot do this exchange: trying again would not help.
        core.internal_error(_M, "job " + name, e)
        done = not isinstance(e, MemoryError)
    tries = 0 if done or state is None else state[2]
    core._job = None
    if not done:
        tries += 1
        if tries >= _TRIES:
            core.log.notice("job:" + name, WARNING, _M, "tick", "%s: no answer after %d tries, "
                            "given up until the next start", name, tries)
        else:
            core._job = (core.clock.ticks(), max(core.config.retry_cooldown, 1) * 1000
                         << (tries - 1), tries)
    if core._job is None:
        core.jobs.remove(name)
        if name == TIMED or (name == "sc" and d.get("_sc_every")):
            schedule(core)  # the periodic fetch goes on, whatever this one got
    if not core.jobs:
        drop_module("jobs")
        drop_module("instant")
    return OK if done else RETRY


def schedule(core):
    # The next periodic server configuration fetch, "scui" hours from now.
    every = core.__dict__.get("_sc_every")
    if every:
        core._sc_due = (core.clock.ticks(), every)
        add(core, TIMED)


def _run(core, name):
    # -> True when the job is done (answered, or nothing to do), False to try again.
    if name == "hc":
        try:
            return _health(core)
        finally:
            drop_module("health")
    if name == "rc":
        from .results import RequestResult

        return core.remote_config.auto() != RequestResult.NETWORK_ISSUE
    if core.config.server_config:
        return _server_config(core)
    return True


def _answer(core, path, params, cap, module):
    # -> (status, JSON value or None), or None without an answer. A failed answer is kept
    # for the health check.
    from .instant import request

    try:
        status, body, truncated = request(core, path, params, max_body=cap)
    except OSError as e:
        core.log.w(module, "send", "no answer: %s", e)
        return None
    if not 200 <= status < 300:
        core.sender.failed = (status, bytes(body[:1000]) if body else b"")
    if truncated:
        core.log.w(module, "send", "answer larger than %d bytes refused", cap)
        return status, None
    try:
        return status, loads(body)
    except Exception:  # not JSON: ValueError on CPython, others on MicroPython
        return status, None


def _server_config(core):
    # Sent even while the server configuration turns networking off: only a fresh one can turn
    # it back on. serverconfig.py is loaded only when there is something to apply.
    got = _answer(core, "/o/sdk", [("method", "sc")], _SC_CAP, "ServerConfig")
    if got is None:
        return False
    status, got = got
    if not (isinstance(got, dict) and "v" in got and "t" in got
            and isinstance(got.get("c"), dict)):
        # A server without SDK configuration support answers 400 Invalid method: a Warning.
        core.log.w("ServerConfig", "fetch", "HTTP %d: no server configuration", status)
        return status < 500 and status != 429
    if got["c"] or "_sc_app" in core.__dict__:
        from . import serverconfig

        try:
            serverconfig.fetched(core, got)
        finally:
            serverconfig = None
            drop_module("serverconfig")
    return True


def _health(core):
    from .health import clear, empty, snapshot

    if not core.networking:
        return True  # nothing is sent; the counters wait for the next start
    hc = snapshot(core)
    woke = getattr(core.platform, "woke_from_sleep", None)
    if empty(hc) and woke is not None and woke():
        return True  # a wake from deep sleep continues the run: nothing new to report
    params = [("metrics", dumps({"_app_version": core.config.app_version})), ("hc", dumps(hc))]
    hc = None
    got = _answer(core, "/i", params, 512, "Health")
    if got is None:
        return False
    status, got = got
    # Taken as any request is: a Countly "Success" (a wrong salt is answered 200 too)
    if 200 <= status < 300 and isinstance(got, dict) and got.get("result") == "Success":
        clear(core)
        return True
    core.log.w("Health", "send", "health check not taken (HTTP %d)", status)
    return status < 500 and status != 429 and status != 408
