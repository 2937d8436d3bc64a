# timed.py - timed events: start() notes the monotonic ticks, end() records the event with
# its duration in ms (a clock sync in between cannot change it), cancel() forgets it. Loaded
# by events.py on first use.

from . import limits

_M = "Events"


def start(events, key):
    core = events._core
    try:
        core.log.i(_M, "start", "key=[%s]", key)
        if not core.accepting(_M, "start"):
            return False
        key = limits.key(core, key, _M, "start")
        if key is None or not events._allowed(key):
            return False
        if key in events._timed:
            core.log.w(_M, "start", "event [%s] already started, ignored", key)
            return False
        events._timed[key] = core.clock.ticks()
        return True
    except Exception as e:
        core.internal_error(_M, "start", e)
        return False


def end(events, key, segmentation=None, count=1, sum=0):
    core = events._core
    try:
        core.log.i(_M, "end", "key=[%s]", key)
        key = limits.key(core, key, _M, "end")
        if key is None:
            return False
        started = events._timed.pop(key, None)
        if started is None:
            core.log.w(_M, "end", "event [%s] was not started, ignored", key)
            return False
        return events.add(key, count, sum, None, segmentation, dur_ms=core.clock.since(started))
    except Exception as e:
        core.internal_error(_M, "end", e)
        return False


def cancel(events, key):
    core = events._core
    try:
        core.log.i(_M, "cancel", "key=[%s]", key)
        if key in events._timed:
            del events._timed[key]
            return True
        core.log.w(_M, "cancel", "event [%s] was not started, ignored", key)
        return False
    except Exception as e:
        core.internal_error(_M, "cancel", e)
        return False
