# initlog.py - the options the app set, logged at Debug at the end of init (the guide: "Debug
# ... should include things like the SDK configuration options"). Loaded only when someone
# reads the log, then dropped. Never the app key, the salt or a certificate.

_M = "Countly"
_SECRET = ("app_key", "salt", "ca_data")


def options(core):
    cfg = core.config
    for name in sorted(cfg.__dict__):
        value = cfg.__dict__[name]
        if name in _SECRET:
            value = "(set)" if value else value
        elif callable(value):
            value = "(callable)"
        elif name == "rc_callbacks":
            value = "(%d callables)" % len(value)
        core.log.d(_M, "init", "option %s=%s", name, value)
