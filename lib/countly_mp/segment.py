# segment.py - a Segment-style facade over Countly, after the Segment Countly destination:
# track -> event (count 1, numeric "revenue" -> sum), screen -> view, identify -> device ID
# change with merge plus user properties. Like the rest of the SDK, no call raises.

from .compat import is_number

_M = "Segment"


class Analytics:
    def __init__(self, ly):
        self._ly = ly

    def _error(self, function, e):
        try:
            self._ly.internal_error(_M, function, e)
        except Exception:
            pass

    def track(self, event, properties=None):
        ly = self._ly
        try:
            ly.log.i(_M, "track", "event=[%s]", event)
            total = None
            seg = None
            if isinstance(properties, dict):
                seg = {}
                for k in properties:
                    v = properties[k]
                    if k == "revenue" and is_number(v):
                        total = v
                    else:
                        seg[k] = v
            elif properties is not None:
                ly.log.w(_M, "track", "properties must be a dict, ignored")
            return ly.events.record(event, 1, total, None, seg or None)
        except Exception as e:
            self._error("track", e)
            return False

    def screen(self, name, properties=None):
        ly = self._ly
        try:
            ly.log.i(_M, "screen", "name=[%s]", name)
            return ly.views.start(name, properties if isinstance(properties, dict) else None)
        except Exception as e:
            self._error("screen", e)
            return None

    def identify(self, user_id, traits=None):
        ly = self._ly
        try:
            ly.log.i(_M, "identify")
            ok = False
            if user_id is not None and user_id != "":
                uid = user_id if isinstance(user_id, str) else str(user_id)
                if uid != ly.device_id.get():
                    ok = ly.device_id.change(uid, merge=True)
                else:
                    ok = True
            if isinstance(traits, dict) and traits:
                ok = ly.user.set_properties(traits) or ok
                ly.user.save()
            return ok
        except Exception as e:
            self._error("identify", e)
            return False

    def flush(self):
        ly = self._ly
        try:
            ly.log.i(_M, "flush")
            return ly.flush()
        except Exception as e:
            self._error("flush", e)
            return 0
