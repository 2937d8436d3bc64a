# filters.py - the server configuration's filters (serverconfig.py): which event keys ("eb"),
# segmentation keys ("sb" for every event, "esb" per event key) and user properties ("upb")
# are recorded. "filter_preset" says whether the lists block ("Blacklisting", the default) or
# are the only ones allowed ("Whitelisting"); an empty or missing list filters nothing.
#
# Internal events ([CLY]_view, feedback answers, ...) are built by the SDK: their own keys are
# never filtered, and they are dropped only when a block list names them.
#
# Loaded only when the server sends filters: the Events and User features are then replaced by
# subclasses that filter before recording; their state (timed events, cached properties) moves
# over.

from .events import Events
from .user import User

_INTERNAL = "[CLY]_"


class Rules:
    def __init__(self, valid):
        self.allow = valid.get("filter_preset") == "Whitelisting"
        self.events = valid.get("eb") or ()
        self.seg = valid.get("sb") or ()
        self.per_event = valid.get("esb") or {}
        self.props = valid.get("upb") or ()

    def passes(self, listed, name):
        return not listed or (name in listed) == self.allow

    def event(self, key):
        if key.startswith(_INTERNAL):
            return not (self.events and not self.allow and key in self.events)
        return self.passes(self.events, key)

    def segmentation(self, key, seg):
        # A filtered copy of a custom event's segmentation.
        per = self.per_event.get(key) or ()
        out = {}
        for k in seg:
            if self.passes(self.seg, k) and self.passes(per, k):
                out[k] = seg[k]
        return out


class FilteredEvents(Events):
    def add(self, key, count=1, sum=None, dur=None, segmentation=None, dur_ms=None, keep=()):
        rules = self._core.filters
        if isinstance(key, str):
            if not rules.event(key):
                self._core.log.w("Events", "record", "event [%s] filtered out by the server "
                                 "configuration", key)
                return False
            if isinstance(segmentation, dict) and not key.startswith(_INTERNAL):
                segmentation = rules.segmentation(key, segmentation)
        return Events.add(self, key, count, sum, dur, segmentation, dur_ms, keep)


class FilteredUser(User):
    def _ok(self, function, key):
        key = User._ok(self, function, key)
        if key is not None and not self._core.filters.passes(self._core.filters.props, key):
            self._core.log.w("User", function, "property [%s] filtered out by the server "
                             "configuration", key)
            return None
        return key

    def set_properties(self, properties):
        rules = self._core.filters
        if isinstance(properties, dict) and rules.props:
            kept = {}
            for k in properties:
                if rules.passes(rules.props, k):
                    kept[k] = properties[k]
            properties = kept
        return User.set_properties(self, properties)


def install(core, valid):
    on = any(valid.get(k) for k in ("eb", "upb", "sb", "esb"))
    core.filters = Rules(valid) if on else None
    old = core.__dict__.get("events")
    new = (FilteredEvents if on else Events)(core)
    if old is not None:
        new._timed = old._timed
    core.events = new
    old = core.__dict__.get("user")
    new = (FilteredUser if on else User)(core)
    if old is not None:
        new._named, new._custom = old._named, old._custom
    core.user = new
