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

    def _expand(self, names):
        groups = self._core.config.consent_groups
        out = []
        for n in names:
            if isinstance(n, (list, tuple)):
                out.extend(self._expand(n))
            elif n in groups:
                out.extend(self._expand(groups[n]))
            elif n in Consent.ALL:
                out.append(n)
            else:
                self._core.log.w(_M, "consent", "unknown feature [%s] ignored" % n)
        return out

    def _change(self, names, given, function):
        core = self._core
        try:
            core.log.i(_M, function)
            if not core.config.require_consent:
                return True
            changed = False
            for f in self._expand(names):
                if core.consent_has(f) != given:
                    if not given and f == Consent.SESSIONS and core.sessions.active:
                        core.sessions.end_now()
                    if not given and f == Consent.EVENTS:
                        core.flush_events()
                    core.set_consent(f, given)
                    changed = True
            if changed:
                self._send_state()
            return True
        except Exception as e:
            core.internal_error(_M, function, e)
            return False

    def _send_state(self):
        # The server wants the full state, every feature as true or false.
        core = self._core
        state = {}
        for f in Consent.ALL:
            state[f] = core.consent_has(f)
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
