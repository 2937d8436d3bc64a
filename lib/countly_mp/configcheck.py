# configcheck.py - validation of every Config option (config.py loads it, runs check(), and drops
# it again: the checks run once, at start-up).
#
# Each option's kind is one letter of a string (a table of tuples cost ~8 KB of MicroPython
# heap): p positive int, z int >= 0, b bool, s non-empty str, o str or None, c callable or
# None, q list/tuple, d dict, a anything.

from .compat import const, dumps, is_int, is_number
from .config import MAX_ID, text_ok

_MAX_METRICS = const(1024)  # characters of the metrics override JSON

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
    "server_config:b tls_verify:a ca_data:a rc_legacy_api:b rc_answer_max:p "
    "feedback_answer_max:p apm_app_start:b"
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
        ok = text_ok(value)
    elif kind == "o":
        ok = value is None or text_ok(value, 4096 if name == "storage_path" else MAX_ID)
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
    if len(url) > 2048:
        raise ValueError("Config: url longer than 2048 characters")
    if not (url.startswith("http://") or url.startswith("https://")):
        raise ValueError("Config: url must start with http:// or https://")
    host = url.split("://", 1)[1]
    if not host or host.startswith("/") or " " in url:
        raise ValueError("Config: url has no host")
    # Countly paths are absolute ("/i"); a trailing slash would produce "//i", an invalid path.
    while url.endswith("/"):
        url = url[:-1]
    return url


def check(cfg, url, app_key, options):
    cfg.url = _check_url(url)
    if not text_ok(app_key):
        raise ValueError("Config: app_key must be a non-empty string of at most %d "
                         "characters" % MAX_ID)
    cfg.app_key = app_key
    # Mutable defaults are per instance, never shared.
    cfg.consent_groups = {}
    cfg.metrics = {}
    cfg.crash_segmentation = {}
    for name in options:
        kind = _kind(name)
        if kind is None:
            raise ValueError("Config: unknown option %s" % name)
        value = options[name]
        _check(name, value, kind)
        if isinstance(value, dict):
            value = dict(value)
        setattr(cfg, name, value)
    if cfg.location_gps is not None:
        _gps(cfg.location_gps)
    if cfg.metrics:
        try:
            if len(dumps(cfg.metrics)) > _MAX_METRICS:
                raise ValueError
        except (ValueError, TypeError):
            raise ValueError("Config: metrics must be JSON values, at most %d characters"
                             % _MAX_METRICS)


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
