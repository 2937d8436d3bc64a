# consent.py - which features the user allowed, and telling the server about changes.
# With require_consent off every feature is allowed and these calls change nothing on the wire.

from .compat import dumps

_M = "Consent"


class Consent:
    SESSIONS = "sessions"
    EVENTS = "events"
    VIEWS = "views"
    SCROLLS = "scrolls"
    CLICKS = "clicks"
    FORMS = "forms"
    CRASHES = "crashes"
    ATTRIBUTION = "attribution"
    USERS = "users"
    PUSH = "push"
    STAR_RATING = "star-rating"
    ACCESSORY_DEVICES = "accessory-devices"
    LOCATION = "location"
    APM = "apm"
    REMOTE_CONFIG = "remote-config"
    FEEDBACK = "feedback"
    ALL = (SESSIONS, EVENTS, VIEWS, SCROLLS, CLICKS, FORMS, CRASHES, ATTRIBUTION, USERS, PUSH,
           STAR_RATING, ACCESSORY_DEVICES, LOCATION, APM, REMOTE_CONFIG, FEEDBACK)


class ConsentApi:
    def __init__(self, core):
        self._core = core

    def _expand(self, names, depth=0):
        groups = self._core.config.consent_groups
        out = []
        for n in names:
            if depth > 4:
                self._core.log.w(_M, "consent", "consent groups nested too deep, ignored")
            elif isinstance(n, (list, tuple)):
                out.extend(self._expand(n, depth + 1))
            elif not isinstance(n, str):
                self._core.log.w(_M, "consent", "feature names must be strings, ignored")
            elif n in groups:
                g = groups[n]
                out.extend(self._expand(g if isinstance(g, (list, tuple)) else (g,), depth + 1))
            elif n in Consent.ALL:
                out.append(n)
            else:
                self._core.log.w(_M, "consent", "unknown feature [%s] ignored", n)
        return out

    def _change(self, names, given, function):
        core = self._core
        try:
            core.log.i(_M, function)
            if not core.config.require_consent:
                return True
            changed = []
            for f in self._expand(names):
                if core.consent_has(f) != given and f not in changed:
                    if not given:
                        self._stopping(f)
                    core._consents[f] = given
                    changed.append(f)
            if changed:
                self.send_state()
                if given:
                    self._starting(changed)
            return True
        except Exception as e:
            core.internal_error(_M, function, e)
            return False

    def _stopping(self, f):
        # Before a consent goes: what the feature holds is closed or dropped.
        core = self._core
        loaded = core.__dict__
        if f == Consent.SESSIONS and core.sessions.active:
            core.sessions.end_now()
        elif f == Consent.EVENTS:
            core.batcher.close()
            core.events.clear_timed()
        elif f == Consent.VIEWS and loaded.get("views") is not None:
            core.views.session_end()
        elif f == Consent.USERS and loaded.get("user") is not None:
            core.user.clear()
        elif f == Consent.LOCATION:
            if loaded.get("location") is not None:
                core.location.consent_removed()
            else:
                core.enqueue([("location", "")])  # the server stops locating this device
        elif f == Consent.APM and loaded.get("apm") is not None:
            core.apm.clear()
        elif f == Consent.REMOTE_CONFIG:
            from .rctrigger import follow

            follow(core, "no_consent")  # stored values are cleared

    def _starting(self, given):
        # After a consent came: an automatic session starts when sessions were just allowed.
        core = self._core
        if (Consent.SESSIONS in given and not core.config.manual_sessions
                and not core.sessions.active):
            core.sessions.begin_now()
        if Consent.REMOTE_CONFIG in given:
            from .rctrigger import follow

            follow(core, "consent")  # a download with rc_automatic_triggers

    def at_init(self):
        # The consents given in Config (groups expanded) go to the server as the full state.
        core = self._core
        for f in self._expand(core.config.consents):
            core._consents[f] = True
        self.send_state()

    def send_state(self):
        # The server wants the full state, every feature as true or false.
        core = self._core
        state = {}
        for f in Consent.ALL:
            state[f] = core._consents.get(f, False)  # the user's, whatever the server switched off
        core.enqueue([("consent", dumps(state))])

    def give(self, *features):
        return self._change(features, True, "give")

    def remove(self, *features):
        return self._change(features, False, "remove")

    def give_all(self):
        return self._change(Consent.ALL, True, "give_all")

    def remove_all(self):
        return self._change(Consent.ALL, False, "remove_all")

    def has(self, feature):
        core = self._core
        try:
            names = self._expand((feature,))
            return bool(names) and all(core.consent_has(f) for f in names)
        except Exception as e:
            core.internal_error(_M, "has", e)
            return False
