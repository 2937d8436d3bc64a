# location.py - country, city, GPS and IP of the device, cached in memory only.
# Values go with the first begin_session when they are known before it, otherwise in a request
# of their own; every later begin_session repeats the cache. Disabled location or a missing
# "location" consent sends an empty `location=`, which tells the server to stop locating.

from .compat import is_number
from .config import MAX_ID

_M = "Location"
_NAMES = ("country_code", "city", "location", "ip_address")


def _gps(value):
    # "lat,lon" or (lat, lon) -> "lat,lon", or None when it is not two numbers.
    if isinstance(value, str):
        parts = value.split(",")
    elif isinstance(value, (list, tuple)):
        parts = list(value)
    else:
        return None
    if len(parts) != 2:
        return None
    out = []
    for p in parts:
        if isinstance(p, str):
            p = p.strip()
            try:
                f = float(p)
            except ValueError:
                return None
            if f != f or f in (float("inf"), float("-inf")):
                return None
            out.append(p)
        elif is_number(p):
            out.append(str(p))
        else:
            return None
    return out[0] + "," + out[1]


def _text(value):
    # A location string, cut to MAX_ID characters as Config() bounds them: every later
    # begin_session repeats it, so it can never grow past the request budget.
    return value[:MAX_ID] if isinstance(value, str) and value != "" else None


class Location:
    def __init__(self, core):
        self._core = core
        cfg = core.config
        self.disabled = cfg.disable_location
        self._values = (None, None, None, None)
        if not self.disabled:
            self._values = (_text(cfg.location_country_code), _text(cfg.location_city),
                            _gps(cfg.location_gps), _text(cfg.location_ip))

    def _params(self):
        return [(n, v) for n, v in zip(_NAMES, self._values) if v is not None]

    def _allowed(self):
        return not self.disabled and self._core.consent_has("location")

    def params(self, begin):
        # Used by the core for every begin_session (begin=True).
        if not self._allowed():
            return [("location", "")] if begin else []
        return self._params()

    def at_init(self):
        # Init values: with an automatic session they go with its begin_session; without one
        # (manual sessions, no sessions consent) in a request of their own.
        core = self._core
        if not core.config.manual_sessions and core.consent_has("sessions"):
            return
        if self.disabled:
            if not core.consent_has("sessions"):
                core.enqueue([("location", "")])
            return
        if self._allowed() and self._params():
            core.enqueue(self._params())

    def set(self, country_code=None, city=None, gps=None, ip=None):
        core = self._core
        try:
            core.log.i(_M, "set", "country_code=[%s], city=[%s]", country_code, city)
            if not core.accepting(_M, "set"):  # inert or stopped
                return False
            if not core.consent_has("location"):
                core.log.w(_M, "set", "no location consent, ignored")
                return False
            g = None
            if gps is not None and gps != "":
                g = _gps(gps)
                if g is None:
                    core.log.w(_M, "set", "gps must be 'lat,lon' or (lat, lon), ignored")
            for name, v in (("country_code", country_code), ("city", city), ("ip", ip)):
                if v is not None and not isinstance(v, str):
                    core.log.w(_M, "set", "%s must be a string, ignored", name)
                elif v is not None and len(v) > MAX_ID:
                    core.log.w(_M, "set", "%s longer than %d characters, truncated", name,
                               MAX_ID)
            values = (_text(country_code), _text(city), g, _text(ip))
            if (values[0] is None) != (values[1] is None):
                core.log.w(_M, "set", "city and country_code should be set together")
            self._values = values  # a left-out value erases the cached one
            self.disabled = False  # setting a location re-enables it
            params = self._params()
            if not params:
                core.log.w(_M, "set", "no valid location value given, cache cleared")
                return False
            core.enqueue(params)
            return True
        except Exception as e:
            core.internal_error(_M, "set", e)
            return False

    def disable(self):
        core = self._core
        try:
            core.log.i(_M, "disable")
            was = self.disabled
            self.disabled = True
            self._values = (None, None, None, None)
            if not was and core.consent_has("location"):
                core.enqueue([("location", "")])
            return True
        except Exception as e:
            core.internal_error(_M, "disable", e)
            return False

    def consent_removed(self):
        # The consent module calls this: the server is told to stop locating the device.
        self._values = (None, None, None, None)
        self._core.enqueue([("location", "")])
