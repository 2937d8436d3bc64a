# sessions.py - begin, update and end of a session, automatic or manual.
# Durations come from monotonic ticks, so a clock sync in the middle of a session cannot make
# them jump; the sub-second remainder is carried to the next report instead of being lost.
# The session's state (running or not, wall time of the last report) is saved at every report,
# in the port's RTC memory when it has one, so a board waking from deep sleep continues its
# session instead of opening a new one on every wake.

_M = "Sessions"


class Sessions:
    def __init__(self, core):
        self._core = core
        self.active = False
        self._since = 0  # ticks of the last begin/update report
        self._carry_ms = 0

    def _elapsed_s(self):
        core = self._core
        now = core.clock.ticks()
        ms = core.clock.since(self._since) + self._carry_ms
        self._since = now
        self._carry_ms = ms % 1000
        return ms // 1000

    # Manual API: only when the app asked for manual sessions.
    def begin(self):
        return self._manual("begin", self.begin_now)

    def update(self):
        return self._manual("update", self.update_now)

    def end(self):
        return self._manual("end", self.end_now)

    def _manual(self, name, action):
        core = self._core
        try:
            core.log.i(_M, name)
            if not core.config.manual_sessions:
                core.log.w(_M, name, "sessions are automatic; set manual_sessions=True")
                return False
            return action()
        except Exception as e:
            core.internal_error(_M, name, e)
            return False

    def begin_now(self):
        core = self._core
        if self.active:
            core.log.w(_M, "begin", "a session is already running")
            return False
        if not core.consent_has("sessions"):
            return False
        self.active = True
        self._since = core.clock.ticks()
        self._carry_ms = 0
        params = [("begin_session", "1"), ("metrics", core.metrics_json())]
        params.extend(_location(core))
        core.enqueue(params)
        self._save()
        return True

    def update_now(self):
        core = self._core
        if not self.active:
            return False
        core.safely("session events", core.batcher.close)  # the session's events go first
        core.enqueue([("session_duration", self._elapsed_s())])
        self._save()
        core.safely("session health", core.health_save)  # the guide's periodic save point
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
        core.safely("session health", core.health_save)  # the app may be about to close
        return True

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
        core = self._core
        now = core.platform.epoch_ms()
        data = ("%d %s" % (1 if self.active else 0, "-" if now is None else now)).encode()
        mem = self._memory()
        if mem is not None:
            mem.write(data)
        else:
            core.store.write("session", data)

    def resume(self):
        # At init: continue the saved session when the port says the board woke from deep
        # sleep. The time asleep counts toward the next session_duration.
        core = self._core
        woke = getattr(core.platform, "woke_from_sleep", None)
        if woke is None or not woke() or not core.consent_has("sessions"):
            return False
        mem = self._memory()
        raw = mem.read() if mem is not None else core.store.read("session")
        parts = raw.decode().split() if raw else ()
        if len(parts) != 2 or parts[0] != "1":
            return False
        now = core.platform.epoch_ms()
        self._carry_ms = 0
        if now is not None and parts[1] != "-":
            self._carry_ms = max(0, now - int(parts[1]))
        self.active = True
        self._since = core.clock.ticks()
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
