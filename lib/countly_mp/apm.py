# apm.py - performance traces: custom traces timed with ticks, and network request traces.
# Each trace is queued at once as an `apm` request (there is no batching). Times are integer
# milliseconds; no float is involved. Needs the "apm" consent.

from . import limits
from .compat import dumps, is_int, is_number

_M = "Apm"
_TRACE_KEY_MAX = 2048
_METRIC_KEY_MAX = 32


class Apm:
    def __init__(self, core):
        self._core = core
        self._traces = {}  # key -> ticks at start

    def _key(self, key, function):
        core = self._core
        key = limits.key(core, key, _M, function)
        if key is None:
            return None
        if len(key) > _TRACE_KEY_MAX:
            key = key[:_TRACE_KEY_MAX]
        if key[0] == "$":
            core.log.w(_M, function, "trace names can't start with '$'; the server strips it")
        return key

    def _allowed(self, function):
        if self._core.consent_has("apm"):
            return True
        self._core.log.w(_M, function, "no apm consent, ignored")
        return False

    def start_trace(self, key):
        core = self._core
        try:
            core.log.i(_M, "start_trace", "key=[%s]", key)
            if not core.accepting(_M, "start_trace") or not self._allowed("start_trace"):
                return False
            key = self._key(key, "start_trace")
            if key is None:
                return False
            if key in self._traces:
                core.log.w(_M, "start_trace", "trace [%s] already started, ignored", key)
                return False
            self._traces[key] = core.clock.ticks()
            return True
        except Exception as e:
            core.internal_error(_M, "start_trace", e)
            return False

    def end_trace(self, key, metrics=None):
        core = self._core
        try:
            core.log.i(_M, "end_trace", "key=[%s]", key)
            key = self._key(key, "end_trace")
            if key is None:
                return False
            started = self._traces.pop(key, None)
            if started is None:
                core.log.w(_M, "end_trace", "trace [%s] was not started, ignored", key)
                return False
            if not self._allowed("end_trace"):
                return False
            duration = core.clock.since(started)
            m = [("duration", duration)]
            if metrics is not None:
                if not isinstance(metrics, dict):
                    core.log.w(_M, "end_trace", "metrics must be a dict, ignored")
                else:
                    m.extend(self._metrics(metrics))
            return self._send("device", key, m, duration)
        except Exception as e:
            core.internal_error(_M, "end_trace", e)
            return False

    def _metrics(self, metrics):
        core = self._core
        out = []
        for k in metrics:
            if len(out) >= core.config.max_segmentation_values:
                core.log.w(_M, "end_trace", "too many metrics, rest dropped")
                break
            if not isinstance(k, str) or k == "" or k == "duration":
                core.log.w(_M, "end_trace", "invalid metric key dropped")
                continue
            if len(k) > _METRIC_KEY_MAX:
                core.log.w(_M, "end_trace", "metric key longer than 32 characters dropped")
                continue
            if k[0] == "$" or "." in k:
                core.log.w(_M, "end_trace", "metric [%s]: the server strips '$' and '.'", k)
            v = metrics[k]
            if not is_number(v):
                core.log.w(_M, "end_trace", "metric [%s] must be a number, dropped", k)
                continue
            out.append((k, int(v)))
        return out

    def cancel_trace(self, key):
        core = self._core
        try:
            core.log.i(_M, "cancel_trace", "key=[%s]", key)
            if isinstance(key, str) and self._traces.pop(key, None) is not None:
                return True
            core.log.w(_M, "cancel_trace", "trace was not started, ignored")
            return False
        except Exception as e:
            core.internal_error(_M, "cancel_trace", e)
            return False

    def clear(self):
        self._traces = {}

    def app_start(self):
        # The device trace "app_start" (Config(apm_app_start=True)), recorded at the end of
        # init: from boot to SDK ready when the port knows when the board booted
        # (platform.boot_ticks()), else the SDK's own init time. A board has no foreground or
        # background, so this is the one device trace it sends.
        core = self._core
        try:
            if not self._allowed("app_start"):
                return False
            boot = getattr(core.platform, "boot_ticks", None)
            start = boot() if boot is not None else core._init_ticks
            duration = max(0, core.clock.since(start))
            return self._send("device", "app_start", [("duration", duration)], duration)
        except Exception as e:
            core.internal_error(_M, "app_start", e)
            return False

    def record_network_trace(self, name, response_code, request_size, response_size, start_ms,
                             end_ms):
        core = self._core
        try:
            core.log.i(_M, "record_network_trace", "name=[%s], code=[%s]", name, response_code)
            if not self._allowed("record_network_trace"):
                return False
            name = self._key(name, "record_network_trace")
            if name is None:
                return False
            for v in (response_code, request_size, response_size, start_ms, end_ms):
                if not is_int(v) or v < 0:
                    core.log.w(_M, "record_network_trace", "values must be ints >= 0, ignored")
                    return False
            if response_code < 100 or response_code > 599:
                core.log.w(_M, "record_network_trace", "invalid response code, ignored")
                return False
            if end_ms < start_ms:
                core.log.w(_M, "record_network_trace", "end_ms before start_ms, ignored")
                return False
            m = [("response_time", end_ms - start_ms), ("response_payload_size", response_size),
                 ("response_code", response_code), ("request_payload_size", request_size)]
            return self._send("network", name, m, None, start_ms, end_ms)
        except Exception as e:
            core.internal_error(_M, "record_network_trace", e)
            return False

    def _send(self, kind, name, metrics, duration, stz=None, etz=None):
        core = self._core
        if etz is None:
            now = core.platform.epoch_ms()
            if now is not None:
                etz = now
                stz = now - duration
        parts = ['{"type":"', kind, '","name":', dumps(name), ',"apm_metrics":{']
        first = True
        for k, v in metrics:
            if not first:
                parts.append(",")
            first = False
            parts.append(dumps(k) + ":%d" % v)
        parts.append("}")
        if etz is not None:
            parts.append(',"stz":%d,"etz":%d' % (stz, etz))
        parts.append("}")
        return core.enqueue([("apm", "".join(parts)), ("count", 1)])
