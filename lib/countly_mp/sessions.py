# sessions.py - begin, update and end of a session, automatic or manual.
# Durations come from monotonic ticks, so a clock sync in the middle of a session cannot make
# them jump; the sub-second remainder is carried to the next report instead of being lost.
# The session's state (running or not, when the last report was made) is saved at every
# report, in the port's RTC memory when it has one, so a board waking from deep sleep continues
# its session instead of opening a new one on every wake, and counts the time asleep.

from .compat import call_cold, drop_module

_M = "Sessions"
_COLD = ("begin", "update", "end", "begin_now", "resume")


def _cold(sessions, name):
    try:
        return call_cold("sessionops", name, sessions)
    except Exception as e:  # MemoryError loading the module: the call did nothing
        sessions._core.internal_error(_M, name, e)
        return False



def save_health(core):
    # At the session's save points and stop(): the health counters persist when they changed
    # in this run (health.py, loaded only then).
    mark = (core.log.errors, core.log.warnings, core.sender.failed)
    if mark != core._hc_mark:
        from .health import save

        save(core)
        core._hc_mark = mark
        drop_module("health")

class Sessions:
    def __init__(self, core):
        self._core = core
        self.active = False
        self._since = 0  # ticks of the last begin/update report
        self._carry_ms = 0

    def __getattr__(self, name):
        # begin_now (once per session), resume (at init) and the manual begin/update/end are
        # in sessionops.py, loaded for the call and dropped after: an app with automatic
        # sessions keeps only the periodic update in its heap.
        if name not in _COLD:
            raise AttributeError(name)
        return lambda: _cold(self, name)

    def _elapsed_s(self):
        core = self._core
        now = core.clock.ticks()
        ms = core.clock.since(self._since) + self._carry_ms
        self._since = now
        self._carry_ms = ms % 1000
        return ms // 1000

    def update_now(self):
        core = self._core
        if not self.active:
            return False
        core.safely("session events", core.batcher.close)  # the session's events go first
        core.enqueue([("session_duration", self._elapsed_s())])
        self._save()
        core.safely("session health", self._save_health)  # the guide's periodic save point
        return True

    def end_now(self):
        core = self._core
        if not self.active:
            return False
        views = core.__dict__.get("views")
        if views is not None:
            views.session_end()  # the open view ends (with its duration) before the session
        core.safely("session events", core.batcher.close)
        core.safely("session user", core.user_save)
        self.active = False
        core.enqueue([("end_session", "1"), ("session_duration", self._elapsed_s())])
        self._save()
        core.safely("session health", self._save_health)  # the app may be about to close
        return True

    def _save_health(self):
        save_health(self._core)

    def due(self):
        # Automatic update from tick(): every session_update_interval seconds.
        core = self._core
        if not self.active or core.config.manual_sessions:
            return False
        elapsed = core.clock.since(self._since) + self._carry_ms
        return elapsed >= core.config.session_update_interval * 1000

    # ---- deep sleep: state kept across resets ----
    def _memory(self):
        hook = getattr(self._core.platform, "session_memory", None)
        return hook() if hook is not None else None

    def _save(self):
        # "active sleep_ms wall_ms" ("-" for a clock the port does not have or that is not
        # valid). sleep_ms is the port's clock that keeps counting through deep sleep and is
        # never stepped by NTP, so the time asleep counts even when the wall clock was never
        # set. Kept in the port's RTC memory slot when it has one; on flash when it has none
        # or the slot asks for a flash copy too (see ports/esp32: RTC memory shared with the
        # app).
        core = self._core
        p = core.platform
        hook = getattr(p, "sleep_ms", None)
        slept = hook() if hook is not None else None
        now = p.epoch_ms()
        data = ("%d %s %s" % (1 if self.active else 0, "-" if slept is None else slept,
                              "-" if now is None else now)).encode()
        mem = self._memory()
        if mem is None or not mem.write(data):
            core.store.write("session", data)
