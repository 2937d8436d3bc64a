# sessionops.py - the rarely run part of sessions.py: beginning a session (with its metrics
# and location), continuing one after deep sleep, and the manual begin/update/end. Loaded by
# sessions.py for the call and dropped after.

from .request import metrics_json

_M = "Sessions"


def begin(sessions):
    return _manual(sessions, "begin", lambda: begin_now(sessions))


def update(sessions):
    return _manual(sessions, "update", sessions.update_now)


def end(sessions):
    return _manual(sessions, "end", sessions.end_now)


def _manual(sessions, name, action):
    core = sessions._core
    try:
        core.log.i(_M, name)
        if not core.config.manual_sessions:
            core.log.w(_M, name, "sessions are automatic; set manual_sessions=True")
            return False
        return action()
    except Exception as e:
        core.internal_error(_M, name, e)
        return False


def begin_now(sessions):
    core = sessions._core
    if sessions.active:
        core.log.w(_M, "begin", "a session is already running")
        return False
    if not core.consent_has("sessions"):
        return False
    sessions.active = True
    sessions._since = core.clock.ticks()
    sessions._carry_ms = 0
    params = [("begin_session", "1"), ("metrics", metrics_json(core))]
    params.extend(_location(core))
    core.enqueue(params)
    sessions._save()
    return True


def resume(sessions):
    # At init: continue the saved session when the port says the board woke from deep
    # sleep. The time since the last report (asleep or not) counts toward the next
    # session_duration: measured on the port's sleep clock when it has one (valid whether or
    # not the wall clock was ever set), else on the wall clock when both readings are valid.
    core = sessions._core
    p = core.platform
    woke = getattr(p, "woke_from_sleep", None)
    if woke is None or not woke() or not core.consent_has("sessions"):
        return False
    mem = sessions._memory()
    raw = mem.read() if mem is not None else None
    if not raw:
        raw = core.store.read("session")
    parts = raw.decode().split() if raw else ()
    if len(parts) == 2:
        parts = [parts[0], "-", parts[1]]  # saved before the sleep clock existed
    if len(parts) != 3 or parts[0] != "1":
        return False
    hook = getattr(p, "sleep_ms", None)
    slept = hook() if hook is not None else None
    now = p.epoch_ms()
    carry = 0
    if slept is not None and parts[1] != "-" and slept >= int(parts[1]):
        carry = slept - int(parts[1])
    elif now is not None and parts[2] != "-":
        carry = max(0, now - int(parts[2]))
    sessions._carry_ms = carry
    sessions.active = True
    sessions._since = core.clock.ticks()
    core.log.i(_M, "resume", "session continued after deep sleep")
    return True


def _location(core):
    # Location params for a begin_session. The location module, when loaded, owns location;
    # without it, init values go with the first begin_session and an opted-out device sends an
    # empty location.
    feature = core.__dict__.get("location")
    if feature is not None:
        return feature.params(True)
    cfg = core.config
    if cfg.disable_location or not core.consent_has("location"):
        return [("location", "")]
    gps = cfg.location_gps
    if isinstance(gps, (list, tuple)):
        gps = "%s,%s" % (gps[0], gps[1])
    return [("country_code", cfg.location_country_code), ("city", cfg.location_city),
            ("location", gps), ("ip_address", cfg.location_ip)]
