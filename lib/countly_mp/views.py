# views.py - manual view tracking: "[CLY]_view" events with a view id and the view's duration.
# Starting a view ends the previous one (a view-end event with "dur" from monotonic ticks); the
# current view also ends on stop() and when the session ends. Needs the "views" consent.

from binascii import b2a_base64

from . import limits
from .compat import urandom

_M = "Views"
_KEY = "[CLY]_view"
_OWN = ("name", "segment", "visit", "start", "_idv")  # never dropped to fit the budget


class Views:
    def __init__(self, core):
        self._core = core
        self._name = None  # the current view, None when no view is open
        self._id = None
        self._since = 0  # ticks at the current view's start
        self._seg = None  # the current view's developer segmentation, repeated at its end
        self._first = True  # the next view is the first of its session
        self._platform = None

    def _segment(self):
        if self._platform is None:
            p = self._core.platform
            name = None
            try:
                name = p.metrics().get("_os")
            except Exception:
                pass
            self._platform = name or p.name
        return self._platform

    def _new_id(self):
        # The guide's view id: 8 base64 characters of 6 random bytes, then the time in ms
        # (ticks while the wall clock is not valid yet).
        ts = self._core.clock.now_ms()
        if ts is None:
            ts = self._core.clock.ticks()
        return b2a_base64(urandom(6)).decode().strip() + str(ts)

    def _record(self, name, vid, segmentation, extra, dur_ms):
        core = self._core
        seg = limits.segmentation(core, segmentation, _M, "start") or {}
        for k, v in extra:
            seg[k] = v  # internal keys win over developer keys of the same name
        return core.events.add(_KEY, 1, None, None, seg, dur_ms=dur_ms, keep=_OWN)

    def _end_current(self, segmentation=None):
        # Sends the open view's end event with its duration; returns False when none is open.
        if self._name is None:
            return False
        core = self._core
        seg = segmentation if segmentation is not None else self._seg
        dur = core.clock.since(self._since)
        name, vid = self._name, self._id
        self._name = self._id = self._seg = None
        return self._record(name, vid, seg, (("name", name), ("segment", self._segment()),
                                             ("_idv", vid)), dur)

    def start(self, name, segmentation=None):
        core = self._core
        try:
            core.log.i(_M, "start", "name=[%s]", name)
            if not core.accepting(_M, "start"):  # inert or stopped: no clock to read
                return None
            name = limits.key(core, name, _M, "start")
            if name is None:
                return None
            if not core.consent_has("views"):
                core.log.w(_M, "start", "no views consent, view not recorded")
                return None
            self._end_current()
            vid = self._new_id()
            extra = [("name", name), ("segment", self._segment()), ("visit", 1)]
            if self._first:
                extra.append(("start", 1))
            extra.append(("_idv", vid))
            if not self._record(name, vid, segmentation, extra, None):
                return None
            self._first = False
            self._name, self._id, self._since = name, vid, core.clock.ticks()
            self._seg = segmentation if isinstance(segmentation, dict) else None
            return vid
        except Exception as e:
            core.internal_error(_M, "start", e)
            return None

    def stop(self, name=None, segmentation=None):
        core = self._core
        try:
            core.log.i(_M, "stop", "name=[%s]", name)
            if self._name is None:
                core.log.w(_M, "stop", "no view is open, ignored")
                return False
            if name is not None and name != self._name:
                core.log.w(_M, "stop", "view [%s] is not the current view, ignored", name)
                return False
            return self._end_current(segmentation)
        except Exception as e:
            core.internal_error(_M, "stop", e)
            return False

    def current(self):
        # (name, view id) of the open view, or None.
        return None if self._name is None else (self._name, self._id)

    def session_end(self):
        # Called by the session before it ends: the open view ends with it, and the next view
        # is the first of the next session.
        try:
            self._end_current()
        except Exception as e:
            self._core.internal_error(_M, "session_end", e)
        self._first = True
