# config.py - every option of the SDK with its default, validated once.
# Config() is the only call that raises into the host app (ValueError with the option's name), so
# a typo shows at start-up on the bench rather than as silent data loss in the field.

from .compat import is_int, is_number

# (name, default, kind). Kinds: "int+" positive int, "int0" int >= 0, "bool", "str?" str or
# None, "call?" callable or None, "any".
_OPTIONS = (
    ("device_id", None, "str?"),
    ("temporary_device_id", False, "bool"),
    ("clear_stored_device_id", False, "bool"),
    ("salt", None, "str?"),
    ("app_version", "0.0", "str"),
    ("force_post", False, "bool"),
    ("manual_sessions", False, "bool"),
    ("session_update_interval", 60, "int+"),
    ("event_queue_threshold", 100, "int+"),
    ("event_flush_interval", 60, "int+"),
    ("request_queue_size", 1000, "int+"),
    ("retry_cooldown", 60, "int0"),
    ("http_timeout", 10, "int+"),
    ("require_consent", False, "bool"),
    ("consents", (), "seq"),
    ("consent_groups", {}, "dict"),
    ("location_country_code", None, "str?"),
    ("location_city", None, "str?"),
    ("location_gps", None, "any"),
    ("location_ip", None, "str?"),
    ("disable_location", False, "bool"),
    ("max_key_length", 128, "int+"),
    ("max_value_size", 256, "int+"),
    ("max_segmentation_values", 100, "int+"),
    ("max_breadcrumb_count", 100, "int+"),
    ("max_stack_trace_lines_per_thread", 30, "int+"),
    ("max_stack_trace_line_length", 200, "int+"),
    ("logging", False, "bool"),
    ("log_listener", None, "call?"),
    ("storage_path", None, "str?"),
    ("metrics", {}, "dict"),
    ("crash_segmentation", {}, "dict"),
    ("direct_attribution", None, "any"),
    ("indirect_attribution", None, "any"),
    ("rc_automatic_triggers", False, "bool"),
    ("rc_enroll_ab_on_download", False, "bool"),
    ("rc_value_caching", False, "bool"),
    ("rc_callbacks", (), "seq"),
    ("server_config", True, "bool"),
    ("tls_verify", None, "any"),
    ("ca_data", None, "any"),
)


def _check(name, value, kind):
    ok = True
    if kind == "int+":
        ok = is_int(value) and value > 0
    elif kind == "int0":
        ok = is_int(value) and value >= 0
    elif kind == "bool":
        ok = value is True or value is False
    elif kind == "str":
        ok = isinstance(value, str) and value != ""
    elif kind == "str?":
        ok = value is None or (isinstance(value, str) and value != "")
    elif kind == "call?":
        ok = value is None or callable(value)
    elif kind == "seq":
        ok = isinstance(value, (list, tuple))
    elif kind == "dict":
        ok = isinstance(value, dict)
    if not ok:
        raise ValueError("Config: invalid value for %s" % name)


def _check_url(url):
    if not isinstance(url, str):
        raise ValueError("Config: url must be a string")
    if not (url.startswith("http://") or url.startswith("https://")):
        raise ValueError("Config: url must start with http:// or https://")
    host = url.split("://", 1)[1]
    if not host or host.startswith("/") or " " in url:
        raise ValueError("Config: url has no host")
    # Countly paths are absolute ("/i"); a trailing slash would produce "//i", an invalid path.
    while url.endswith("/"):
        url = url[:-1]
    return url


class Config:
    def __init__(self, url, app_key, **options):
        self.url = _check_url(url)
        if not isinstance(app_key, str) or not app_key.strip():
            raise ValueError("Config: app_key must be a non-empty string")
        self.app_key = app_key
        known = {}
        for name, default, kind in _OPTIONS:
            known[name] = True
            value = options.get(name, default)
            _check(name, value, kind)
            if isinstance(value, dict):
                value = dict(value)  # never share a mutable default between instances
            setattr(self, name, value)
        for name in options:
            if name not in known:
                raise ValueError("Config: unknown option %s" % name)
        if self.location_gps is not None:
            _gps(self.location_gps)

    def __repr__(self):
        # The app key and salt stay out of logs and tracebacks.
        return "Config(url=%s)" % self.url


def _gps(value):
    if isinstance(value, str):
        parts = value.split(",")
    elif isinstance(value, (list, tuple)):
        parts = value
    else:
        raise ValueError("Config: location_gps must be 'lat,lon' or (lat, lon)")
    if len(parts) != 2:
        raise ValueError("Config: location_gps must be 'lat,lon' or (lat, lon)")
    for p in parts:
        if not is_number(p):
            try:
                float(p)
            except (ValueError, TypeError):
                raise ValueError("Config: location_gps must be numeric")
