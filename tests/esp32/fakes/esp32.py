# esp32.py - fake ESP32 `esp32` module: only what an app next to countly_mp tends to touch.

HEAP_DATA = 4
HEAP_EXEC = 1
WAKEUP_ALL_LOW = False
WAKEUP_ANY_HIGH = True

_nvs = {}


class NVS:
    # Non-volatile key/value store; values live in a module dict (one "boot" per process).
    def __init__(self, namespace):
        self._ns = _nvs.setdefault(namespace, {})

    def set_i32(self, key, value):
        self._ns[key] = int(value)

    def get_i32(self, key):
        if key not in self._ns:
            raise OSError(-4354)   # ESP_ERR_NVS_NOT_FOUND
        return self._ns[key]

    def set_blob(self, key, value):
        self._ns[key] = bytes(value)

    def get_blob(self, key, buf):
        v = self._ns.get(key)
        if v is None:
            raise OSError(-4354)
        buf[: len(v)] = v
        return len(v)

    def erase_key(self, key):
        self._ns.pop(key, None)

    def commit(self):
        pass


def raw_temperature():
    return 120


def idf_heap_info(caps):
    return [(120000, 60000, 40000, 50000)]


def wake_on_ext0(pin, level):
    pass


def wake_on_timer(ms):
    pass
