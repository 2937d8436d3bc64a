# config.py - every option of the SDK with its default, validated once.
# Config() is the only call that raises into the host app (ValueError with the option's name), so
# a typo shows at start-up on the bench rather than as silent data loss in the field.

from .compat import is_int, is_number

# Defaults are class attributes, so an instance stores only what the app set, and each
# option's kind is one letter of a string (a table of tuples cost ~8 KB of MicroPython heap):
# p positive int, z int >= 0, b bool, s non-empty str, o str or None, c callable or None,
# q list/tuple, d dict, a anything.
_KINDS = (
    "device_id:o temporary_device_id:b clear_stored_device_id:b salt:o app_version:s "
    "force_post:b manual_sessions:b session_update_interval:p event_queue_threshold:p "
    "event_flush_interval:p request_queue_size:p retry_cooldown:z http_timeout:p "
    "require_consent:b consents:q consent_groups:d location_country_code:o location_city:o "
    "location_gps:a location_ip:o disable_location:b max_key_length:p max_value_size:p "
    "max_segmentation_values:p max_breadcrumb_count:p max_stack_trace_lines_per_thread:p "
    "max_stack_trace_line_length:p logging:b log_listener:c storage_path:o metrics:d "
    "crash_segmentation:d direct_attribution:a indirect_attribution:a "
    "rc_automatic_triggers:b rc_enroll_ab_on_download:b rc_value_caching:b rc_callbacks:q "
    "server_config:b tls_verify:a ca_data:a"
)


def _kind(name):
    i = _KINDS.find(name + ":")
    if i < 0 or (i and _KINDS[i - 1] != " "):
        return None
    return _KINDS[i + len(name) + 1]


def _check(name, value, kind):
    ok = True
    if kind == "p":
        ok = is_int(value) and value > 0
    elif kind == "z":
        ok = is_int(value) and value >= 0
    elif kind == "b":
        ok = value is True or value is False
    elif kind == "s":
        ok = isinstance(value, str) and value != ""
    elif kind == "o":
        ok = value is None or (isinstance(value, str) and value != "")
    elif kind == "c":
        ok = value is None or callable(value)
    elif kind == "q":
        ok = isinstance(value, (list, tuple))
    elif kind == "d":
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
    device_id = None
    temporary_device_id = False
    clear_stored_device_id = False
    salt = None
    app_version = "0.0"
    force_post = False
    manual_sessions = False
    session_update_interval = 60
    event_queue_threshold = 100
    event_flush_interval = 60
    request_queue_size = 1000
    retry_cooldown = 60
    http_timeout = 10
    require_consent = False
    consents = ()
    location_country_code = None
    location_city = None
    location_gps = None
    location_ip = None
    disable_location = False
    max_key_length = 128
    max_value_size = 256
    max_segmentation_values = 100
    max_breadcrumb_count = 100
    max_stack_trace_lines_per_thread = 30
    max_stack_trace_line_length = 200
    logging = False
    log_listener = None
    storage_path = None
    direct_attribution = None
    indirect_attribution = None
    rc_automatic_triggers = False
    rc_enroll_ab_on_download = False
    rc_value_caching = False
    rc_callbacks = ()
    server_config = True
    tls_verify = None
    ca_data = None

    def __init__(self, url, app_key, **options):
        self.url = _check_url(url)
        if not isinstance(app_key, str) or not app_key.strip():
            raise ValueError("Config: app_key must be a non-empty string")
        self.app_key = app_key
        # Mutable defaults are per instance, never shared.
        self.consent_groups = {}
        self.metrics = {}
        self.crash_segmentation = {}
        for name in options:
            kind = _kind(name)
            if kind is None:
                raise ValueError("Config: unknown option %s" % name)
            value = options[name]
            _check(name, value, kind)
            if isinstance(value, dict):
                value = dict(value)
            setattr(self, name, value)
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
