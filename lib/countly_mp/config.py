# config.py - every option of the SDK with its default.
# Config() is the only call that raises into the host app (ValueError with the option's name), so
# a typo shows at start-up on the bench rather than as silent data loss in the field. The checks
# are in configcheck.py, which is loaded for the check and then dropped: a board does not keep
# the validation code in its heap for the rest of its run.

from .compat import const, drop_module

# Strings that go into every request (app key, device ID) or into begin_session are bounded,
# so the base params can never eat the request budget (docs/api.md, "Limits").
MAX_ID = const(256)  # device_id, app_key, app_version, location values: characters


def text_ok(value, limit=MAX_ID):
    # A non-empty string within `limit` characters that can be sent as UTF-8 (a lone surrogate,
    # possible on CPython, would break every request that carries it).
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        return False
    try:
        value.encode()
    except UnicodeError:
        return False
    return True


class Config:
    # Defaults are class attributes, so an instance stores only what the app set.
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
    rc_legacy_api = False
    rc_answer_max = 2048  # bytes: a larger remote config or A/B answer is refused
    feedback_answer_max = 4096  # bytes: a larger widget list or widget document is refused
    apm_app_start = False
    tls_verify = None
    ca_data = None

    def __init__(self, url, app_key, **options):
        from . import configcheck

        try:
            configcheck.check(self, url, app_key, options)
        finally:
            configcheck = None
            drop_module("configcheck")

    def __repr__(self):
        # The app key and salt stay out of logs and tracebacks.
        return "Config(url=%s)" % self.url
