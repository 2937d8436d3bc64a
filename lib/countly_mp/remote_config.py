# remote_config.py - remote config values and A/B test enrollment (ly.remote_config).
#
# What stays in the heap while an app uses remote config is this module and the values: the
# downloads (rcfetch.py) and the A/B calls (abtest.py) are loaded for the call and dropped
# after it. Values persist on flash (one CRC'd file, replaced whole) and are read back on
# first use.
#
# The device ID decides whose values they are: a change without merge, or entering temporary
# ID mode, clears them, or with rc_value_caching keeps them marked as the previous user's until
# downloaded again. Removing the remote-config consent clears them. With
# rc_automatic_triggers, init, a given consent, an ID change and leaving temporary ID mode
# start a download that tick() makes when the queue is idle (jobs.py).

from .compat import crc32, drop_module, dumps, loads
from .log import ERROR
from .results import RCData, RequestResult

_M = "RemoteConfig"
_FILE = "rc"
_ERROR = RequestResult.ERROR


class RemoteConfig:
    def __init__(self, core):
        self._core = core
        self.values = None  # key -> value; read from flash on first use
        self.stale = None  # keys kept from the previous device ID (rc_value_caching)
        self.variants = None  # A/B variants for testing, in memory only (abtest.py)
        self.callbacks = []
        for cb in core.config.rc_callbacks:
            self.register_callback(cb)

    # ---- values on flash ----
    def load(self):
        if self.values is not None:
            return
        values, stale = {}, []
        raw = self._core.store.read(_FILE)
        if raw:
            try:
                head, body = raw.split(b"\n", 1)
                if int(head.decode(), 16) != crc32(body) & 0xFFFFFFFF:
                    raise ValueError("crc")
                values, stale = loads(body)
                if not isinstance(values, dict) or not isinstance(stale, list):
                    raise ValueError("layout")
            except MemoryError:
                raise  # not damage: the file stays for a later read
            except Exception:
                values, stale = {}, []
                self._core.store.remove(_FILE)
                self._core.log.notice("rc-damaged", ERROR, _M, "load", "stored remote config "
                                      "values are damaged: cleared")
        self.values, self.stale = values, stale

    def save(self, body=None):
        store = self._core.store
        if not self.values:
            store.remove(_FILE)
            return
        if body is None:
            body = dumps([self.values, self.stale]).encode()
        store.write(_FILE, b"%08x\n" % (crc32(body) & 0xFFFFFFFF) + body)

    def _clear(self, keep_as_stale=False):
        self.load()
        if keep_as_stale:
            self.stale = list(self.values)
        else:
            self.values, self.stale = {}, []
        self.save()

    # ---- downloads (rcfetch.py) ----
    def download_all(self, callback=None):
        return self._op(_ERROR, "rcfetch", "download", "download_all", None, callback)

    def download_keys(self, keys, callback=None):
        return self._op(_ERROR, "rcfetch", "download", "download_keys", keys, callback)

    def download_omitting(self, keys, callback=None):
        return self._op(_ERROR, "rcfetch", "download", "download_omitting", keys, callback)

    def auto(self):
        # A download started by a trigger (jobs.py): global callbacks only; none without
        # consent.
        if not self._core.consent_has("remote-config"):
            return _ERROR
        return self._op(_ERROR, "rcfetch", "download", "automatic", None, None)

    # ---- values ----
    def get(self, key):
        core = self._core
        try:
            core.log.i(_M, "get", "key=[%s]", key)
            self.load()
            if key not in self.values:
                return None
            return RCData(self.values[key], key not in self.stale)
        except Exception as e:
            core.internal_error(_M, "get", e)
            return None

    def get_all(self):
        core = self._core
        try:
            core.log.i(_M, "get_all")
            self.load()
            out = {}
            for k in self.values:
                out[k] = RCData(self.values[k], k not in self.stale)
            return out
        except Exception as e:
            core.internal_error(_M, "get_all", e)
            return {}

    def clear_all(self):
        core = self._core
        try:
            core.log.i(_M, "clear_all")
            self._clear()
            return True
        except Exception as e:
            core.internal_error(_M, "clear_all", e)
            return False

    def register_callback(self, callback):
        self._core.log.i(_M, "register_callback")
        if not callable(callback):
            self._core.log.w(_M, "register_callback", "callback must be callable, ignored")
            return False
        if callback not in self.callbacks:
            self.callbacks.append(callback)
        return True

    def remove_callback(self, callback):
        self._core.log.i(_M, "remove_callback")
        if callback in self.callbacks:
            self.callbacks.remove(callback)
            return True
        return False

    # ---- triggers (rctrigger.py calls this) ----
    def follow(self, event):
        # event: "id" (changed without merge), "temp" (entered temporary ID mode), "real" (left
        # it), "consent" (given), "no_consent" (removed).
        cfg = self._core.config
        if event in ("id", "temp"):
            self._clear(cfg.rc_value_caching)
        elif event == "no_consent":
            self._clear()
            self.variants = None
        if cfg.rc_automatic_triggers and event in ("id", "real", "consent"):
            from .jobs import add

            add(self._core, "rc")

    # ---- A/B tests and their variants (abtest.py) ----
    def enroll_ab(self, keys):
        return self._op(False, "abtest", "enroll_ab", keys)

    def exit_ab(self, keys=None):
        return self._op(False, "abtest", "exit_ab", keys)

    def testing_download_variants(self, callback=None):
        return self._op(_ERROR, "abtest", "download_variants", callback)

    def testing_get_all_variants(self):
        return self._op({}, "abtest", "get_all_variants")

    def testing_get_variants(self, key):
        return self._op(None, "abtest", "get_variants", key)

    def testing_enroll_variant(self, key, variant, callback=None):
        return self._op(_ERROR, "abtest", "enroll_variant", key, variant, callback)

    def _op(self, failed, module, name, *args):
        # Runs module.name(self, *args), then drops the module (and the answer parsing it
        # used): a board keeps only this class and the values between calls.
        try:
            mod = __import__("countly_mp." + module, None, None, [name])
            return getattr(mod, name)(self, *args)
        except Exception as e:  # MemoryError loading the module, above all
            self._core.internal_error(_M, name, e)
            error = "out of memory" if isinstance(e, MemoryError) else "internal error"
            try:  # the callbacks still learn the outcome
                if name == "download":
                    for cb in ([args[2]] if args[2] is not None else []) + self.callbacks:
                        cb(failed, error, args[0] in ("download_all", "automatic"), {})
                elif name in ("download_variants", "enroll_variant") and args[-1] is not None:
                    args[-1](failed, error)
            except Exception:
                pass
            return failed
        finally:
            drop_module(module)
            drop_module("fetch")
            drop_module("instant")
