# report.py - status(): what the SDK knows about delivery, as a small dict for the app's code
# (the one-line notices say the same to people). Its own small module, loaded on first use.

_M = "Countly"


def status(core):
    st = {"ready": core.ready, "init_error": core.init_error, "events_waiting": 0,
          "requests_waiting": 0, "paused_until_ms": None, "paused_for_ms": 0,
          "paused_reason": None,
          "last_status": 0, "last_reason": None, "delivered": 0, "retried": 0,
          "dropped": 0, "trimmed": core.trimmed, "corrupt": 0, "poisoned": 0,
          "errors": core.log.errors, "warnings": core.log.warnings}
    if not core.ready:
        return st
    try:
        s = core.sender
        rq, eq = core.request_queue, core.event_queue
        left = s.wait_left_ms()
        now = core.platform.epoch_ms() if left else None
        st["events_waiting"] = core.batcher.count
        st["requests_waiting"] = len(rq)
        st["paused_for_ms"] = left
        st["paused_until_ms"] = now + left if now is not None else None
        st["paused_reason"] = s.paused_reason
        st["last_status"] = s.last_status
        st["last_reason"] = s.last_reason
        st["delivered"] = s.delivered
        st["retried"] = s.retried
        st["dropped"] = s.dropped + rq.dropped + eq.dropped
        st["corrupt"] = rq.corrupt + eq.corrupt + getattr(core.store, "corrupt", 0)
        st["poisoned"] = s.poisoned
    except Exception as e:
        core.internal_error(_M, "status", e)
    return st
