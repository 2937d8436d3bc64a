# user.py - user profile properties and custom property modifiers, sent as `user_details`.
# Changes are cached in memory and go out on save(), which the core also calls before a device
# ID change, a session end and stop(). Needs the "users" consent.
#
# Budget: save() packs the cache into as many requests as the request budget needs (an array
# modifier's values may be split over several, which the server adds up the same way). A value
# that could not fit a request even alone is refused when it is set, never accepted and lost.
# Repeated modifiers on one key combine ($inc adds, $mul multiplies, $max/$min keep the extreme,
# $setOnce keeps the first, arrays accumulate, set replaces); a DIFFERENT modifier on a key that
# already has a pending change first sends the cached changes, so both reach the server in order.

from . import limits
from .compat import const, dumps, is_int, is_number
from .log import ERROR
from .wire import encoded_len

_M = "User"
_NAMED = ("name", "username", "email", "organization", "phone", "picture", "gender", "byear")
_PICTURE_LIMIT = const(4096)
_ARRAYS = ("$push", "$addToSet", "$pull")
_WRAP = const(48)  # encoded bytes of {"custom":{...}} around the entries


def _entry_size(key, value):
    return encoded_len(dumps(key)) + encoded_len(dumps(value)) + 6  # ":" and "," encoded


class User:
    def __init__(self, core):
        self._core = core
        self._named = {}
        self._custom = {}  # key -> value, or {"$op": value}

    def _room(self):
        return self._core.builder.room("user_details") - _WRAP

    def _fits(self, function, key, value):
        if _entry_size(key, value) <= self._room():
            return True
        self._core.log.notice("user-too-large", ERROR, _M, function,
                              "property [%s] too large to send in one request, ignored", key)
        return False

    def _ok(self, function, key):
        core = self._core
        core.log.i(_M, function, "key=[%s]", key)
        if not core.accepting(_M, function):
            return None
        if not core.consent_has("users"):
            core.log.w(_M, function, "no users consent, ignored")
            return None
        return limits.key(core, key, _M, function)

    def _value(self, function, value, limit=None):
        # -> (ok, value): None is refused with a warning, "" becomes JSON null (delete).
        core = self._core
        if value is None:
            core.log.w(_M, function, "null value ignored")
            return False, None
        if value == "" and isinstance(value, str):
            return True, None
        if isinstance(value, str):
            limit = limit or core.config.max_value_size
            if len(value) > limit:
                core.log.w(_M, function, "value longer than %d characters, truncated", limit)
                return True, value[:limit]
            return True, value
        v = limits.value(core, value, _M, function)
        if v is None:
            core.log.w(_M, function, "unsupported value type ignored")
            return False, None
        return True, v

    def _change(self, function, key, op, value, numeric=False):
        # One custom property change. op None: set. -> True when cached.
        core = self._core
        try:
            key = self._ok(function, key)
            if key is None:
                return False
            if numeric:
                if not is_number(value):
                    core.log.w(_M, function, "value must be a number, ignored")
                    return False
            else:
                ok, value = self._value(function, value)
                if not ok:
                    return False
            if not self._fits(function, key, value):
                return False
            if key in self._custom:
                cur = self._custom[key]
                cur_op = next(iter(cur)) if isinstance(cur, dict) else None
                if cur_op != op:
                    if not self.save():  # a different kind of change is pending: it goes first
                        return False
                elif op in _ARRAYS:
                    cur[op].append(value)
                    return True
                elif op is not None:
                    combined = _combine(op, cur[op], value)
                    if is_number(combined):
                        value = combined
                    elif not self.save():  # e.g. a product past the float range: no JSON
                        return False  # number carries it, so the two are sent one by one
            if op is None:
                self._custom[key] = value
            else:
                self._custom[key] = {op: [value] if op in _ARRAYS else value}
            return True
        except Exception as e:
            core.internal_error(_M, function, e)
            return False

    # ---- public ----
    def set_properties(self, properties):
        core = self._core
        try:
            core.log.i(_M, "set_properties")
            if not core.accepting(_M, "set_properties"):
                return False
            if not core.consent_has("users"):
                core.log.w(_M, "set_properties", "no users consent, ignored")
                return False
            if not isinstance(properties, dict):
                core.log.w(_M, "set_properties", "properties must be a dict, ignored")
                return False
            done = False
            for k in properties:
                if k not in _NAMED:
                    done = self._change("set_properties", k, None, properties[k]) or done
                    continue
                v = properties[k]
                if k == "byear":
                    if not is_int(v):
                        core.log.w(_M, "set_properties", "byear must be an int, ignored")
                        continue
                else:
                    limit = _PICTURE_LIMIT if k == "picture" else core.config.max_value_size
                    ok, v = self._value("set_properties", v, limit)
                    if not ok:
                        continue
                    if v is not None and not isinstance(v, str):
                        v = str(v)[:limit]
                if self._fits("set_properties", k, v):
                    self._named[k] = v
                    done = True
            return done
        except Exception as e:
            core.internal_error(_M, "set_properties", e)
            return False

    def set(self, key, value):
        return self._change("set", key, None, value)

    def set_once(self, key, value):
        return self._change("set_once", key, "$setOnce", value)

    def increment(self, key):
        return self._change("increment", key, "$inc", 1, True)

    def increment_by(self, key, n):
        return self._change("increment_by", key, "$inc", n, True)

    def multiply(self, key, n):
        return self._change("multiply", key, "$mul", n, True)

    def max(self, key, n):
        return self._change("max", key, "$max", n, True)

    def min(self, key, n):
        return self._change("min", key, "$min", n, True)

    def push(self, key, value):
        return self._change("push", key, "$push", value)

    def push_unique(self, key, value):
        return self._change("push_unique", key, "$addToSet", value)

    def pull(self, key, value):
        return self._change("pull", key, "$pull", value)

    def save(self):
        # Sends the cache in as few requests as the budget allows; what was queued leaves the
        # cache, what could not be (storage error) stays for the next save.
        core = self._core
        try:
            core.log.i(_M, "save")
            if not self._named and not self._custom:
                return False
            if not core.accepting(_M, "save"):
                return False
            if not core.consent_has("users"):
                core.log.w(_M, "save", "no users consent, cached changes dropped")
                self.clear()
                return False
            core.safely("user events", core.batcher.close)  # earlier events keep their order
            room = self._room()
            while self._named or self._custom:
                details, size = {}, 0
                for k in list(self._named):
                    n = _entry_size(k, self._named[k])
                    if details and size + n > room:
                        break
                    details[k] = self._named.pop(k)
                    size += n
                custom = {}
                for k in list(self._custom):
                    v = self._custom[k]
                    n = _entry_size(k, v)
                    if size + n > room:
                        part = _split(k, v, room - size)
                        if part is not None:
                            custom[k] = part
                        break
                    custom[k] = self._custom.pop(k)
                    size += n
                if custom:
                    details["custom"] = custom
                if not details:
                    k = next(iter(self._custom))
                    del self._custom[k]
                    core.log.notice("user-too-large", ERROR, _M, "save",
                                    "property [%s] too large to send, dropped", k)
                    continue
                if not core.enqueue([("user_details", dumps(details))]):
                    return False
            return True
        except Exception as e:
            core.internal_error(_M, "save", e)
            return False

    def clear(self):
        # Consent removed: what was cached is dropped.
        self._named, self._custom = {}, {}


def _combine(op, old, new):
    if op == "$inc":
        return old + new
    if op == "$mul":
        return old * new
    if op == "$max":
        return old if old >= new else new
    if op == "$min":
        return old if old <= new else new
    return old  # $setOnce: the first value stays


def _split(key, change, room):
    # Takes from an array modifier as many values as fit `room` (the rest stays cached).
    # -> the part to send now, or None when nothing of it fits.
    if not isinstance(change, dict):
        return None
    for op in change:
        values = change[op]
        if not isinstance(values, list):
            return None
        take = []
        size = _entry_size(key, {op: []})
        while values and size + encoded_len(dumps(values[0])) + 3 <= room:
            size += encoded_len(dumps(values[0])) + 3
            take.append(values.pop(0))
        return {op: take} if take else None
    return None
