# user.py - user profile properties and custom property modifiers, sent as `user_details`.
# Changes are cached in memory and go out in one request on save(), which the core also calls
# before a device ID change, a session end and stop(). Needs the "users" consent.

from . import limits
from .compat import dumps, is_int, is_number

_M = "User"
_NAMED = ("name", "username", "email", "organization", "phone", "picture", "gender", "byear")
_PICTURE_LIMIT = 4096


class User:
    def __init__(self, core):
        self._core = core
        self._named = {}
        self._custom = {}  # key -> value, or {"$op": value}

    def _ok(self, function, key):
        core = self._core
        core.log.i(_M, function, "key=[%s]" % key)
        if not core.consent_has("users"):
            core.log.d(_M, function, "no users consent, ignored")
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
            if limit is not None and len(value) > limit:
                core.log.w(_M, function, "value longer than %d characters, truncated" % limit)
                return True, value[:limit]
            if limit is not None:
                return True, value
            return True, limits.value(core, value, _M, function)
        v = limits.value(core, value, _M, function)
        if v is None:
            core.log.w(_M, function, "unsupported value type ignored")
            return False, None
        return True, v

    def _checked(self, function, key, value):
        # (key, value) as the limits leave them, or None when either is refused.
        key = self._ok(function, key)
        if key is None:
            return None
        ok, v = self._value(function, value)
        return (key, v) if ok else None

    def _put(self, function, key, value):
        try:
            kv = self._checked(function, key, value)
            if kv is None:
                return False
            self._custom[kv[0]] = kv[1]
            return True
        except Exception as e:
            self._core.internal_error(_M, function, e)
            return False

    def _op(self, function, key, op, value, numeric):
        try:
            if numeric:
                key = self._ok(function, key)
                if key is None:
                    return False
                if not is_number(value):
                    self._core.log.w(_M, function, "value must be a number, ignored")
                    return False
                v = value
            else:
                kv = self._checked(function, key, value)
                if kv is None:
                    return False
                key, v = kv
            self._custom[key] = {op: v}
            return True
        except Exception as e:
            self._core.internal_error(_M, function, e)
            return False

    def _array(self, function, key, op, value):
        # push, push_unique and pull on the same key accumulate into one array.
        try:
            kv = self._checked(function, key, value)
            if kv is None:
                return False
            key, v = kv
            cur = self._custom.get(key)
            if isinstance(cur, dict) and op in cur and isinstance(cur[op], list):
                cur[op].append(v)
            else:
                self._custom[key] = {op: [v]}
            return True
        except Exception as e:
            self._core.internal_error(_M, function, e)
            return False

    # ---- public ----
    def set_properties(self, properties):
        core = self._core
        try:
            core.log.i(_M, "set_properties")
            if not core.consent_has("users"):
                core.log.d(_M, "set_properties", "no users consent, ignored")
                return False
            if not isinstance(properties, dict):
                core.log.w(_M, "set_properties", "properties must be a dict, ignored")
                return False
            done = False
            for k in properties:
                if k in _NAMED:
                    v = properties[k]
                    if k == "byear":
                        if not is_int(v):
                            core.log.w(_M, "set_properties", "byear must be an int, ignored")
                            continue
                        ok = True
                    else:
                        limit = _PICTURE_LIMIT if k == "picture" else core.config.max_value_size
                        ok, v = self._value("set_properties", properties[k], limit)
                        if ok and v is not None and not isinstance(v, str):
                            v = str(v)[:limit]
                    if ok:
                        self._named[k] = v
                        done = True
                elif self._put("set_properties", k, properties[k]):
                    done = True
            return done
        except Exception as e:
            core.internal_error(_M, "set_properties", e)
            return False

    def set(self, key, value):
        return self._put("set", key, value)

    def set_once(self, key, value):
        return self._op("set_once", key, "$setOnce", value, False)

    def increment(self, key):
        return self._op("increment", key, "$inc", 1, True)

    def increment_by(self, key, n):
        return self._op("increment_by", key, "$inc", n, True)

    def multiply(self, key, n):
        return self._op("multiply", key, "$mul", n, True)

    def max(self, key, n):
        return self._op("max", key, "$max", n, True)

    def min(self, key, n):
        return self._op("min", key, "$min", n, True)

    def push(self, key, value):
        return self._array("push", key, "$push", value)

    def push_unique(self, key, value):
        return self._array("push_unique", key, "$addToSet", value)

    def pull(self, key, value):
        return self._array("pull", key, "$pull", value)

    def save(self):
        core = self._core
        try:
            core.log.i(_M, "save")
            if not self._named and not self._custom:
                return False
            named, custom = self._named, self._custom
            self._named, self._custom = {}, {}
            if not core.consent_has("users"):
                core.log.d(_M, "save", "no users consent, cached changes dropped")
                return False
            details = {}
            for k in named:
                details[k] = named[k]
            if custom:
                details["custom"] = custom
            core.flush_events()  # events recorded before the change keep their order
            return core.enqueue([("user_details", dumps(details))])
        except Exception as e:
            core.internal_error(_M, "save", e)
            return False

    def clear(self):
        # Consent removed: what was cached is dropped.
        self._named, self._custom = {}, {}
