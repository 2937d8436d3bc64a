# countly_mp - Countly analytics for MicroPython boards, with a core identical on CPython.
# This facade imports nothing until a name is asked for, so `import countly_mp` costs almost no
# heap on a device: each public name is loaded from its module on first use.

__version__ = "26.1.0"

_NAMES = {
    "Countly": "countly",
    "Config": "config",
    "Consent": "consent",
    "DeviceIdType": "device_id",
    "RequestResult": "results",
    "RCData": "results",
    "FeedbackWidget": "results",
}


def __getattr__(name):
    module = _NAMES.get(name)
    if module is None:
        # MicroPython resolves `from . import x` through this hook before it loads the
        # submodule, so a submodule name must load and return that submodule.
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return __import__("countly_mp." + name, None, None, [name])
        except ImportError:
            raise AttributeError(name)
    mod = __import__("countly_mp." + module, None, None, [name])
    value = getattr(mod, name)
    globals()[name] = value
    return value
