# crashes.py - handled and unhandled errors as `crash` requests, with breadcrumbs.
# The report is built once, limited (lines per trace, characters per line, breadcrumbs,
# segmentation), and queued on flash by POST before anything else can fail. Needs "crashes".

import sys

from . import limits
from .compat import dumps, exception_text

_M = "Crashes"
_MAX_LINES = 1500  # the guide's sanity cap: 50 threads of 30 lines


class Crashes:
    def __init__(self, core):
        self._core = core
        self._crumbs = []
        self._auto_seg = None
        self._previous_hook = None

    # ---- public ----
    def add_breadcrumb(self, text):
        core = self._core
        try:
            core.log.i(_M, "add_breadcrumb")
            if not core.consent_has("crashes"):
                return False
            if not isinstance(text, str) or text == "":
                core.log.w(_M, "add_breadcrumb", "breadcrumb must be a non-empty string, ignored")
                return False
            # One breadcrumb is one line of _logs: its own line breaks would count as more.
            text = limits.value(core, text.replace("\r", " ").replace("\n", " "), _M,
                                "add_breadcrumb")
            crumbs = self._crumbs
            crumbs.append(text)
            limit = core.config.max_breadcrumb_count
            if len(crumbs) > limit:
                core.log.w(_M, "add_breadcrumb", "over %d breadcrumbs, oldest dropped" % limit)
                del crumbs[: len(crumbs) - limit]
            return True
        except Exception as e:
            core.internal_error(_M, "add_breadcrumb", e)
            return False

    def record_exception(self, exc, nonfatal=True, segmentation=None):
        core = self._core
        try:
            core.log.i(_M, "record_exception", "nonfatal=%s" % bool(nonfatal))
            if not isinstance(exc, BaseException):
                core.log.w(_M, "record_exception", "not an exception, ignored")
                return False
            return self._report(_headline(exc), exception_text(exc), nonfatal, segmentation)
        except Exception as e:
            core.internal_error(_M, "record_exception", e)
            return False

    def record_error(self, message, stack="", nonfatal=True, segmentation=None):
        core = self._core
        try:
            core.log.i(_M, "record_error", "nonfatal=%s" % bool(nonfatal))
            if not isinstance(message, str) or message == "":
                core.log.w(_M, "record_error", "message must be a non-empty string, ignored")
                return False
            if not isinstance(stack, str):
                core.log.w(_M, "record_error", "stack must be a string, ignored")
                stack = ""
            return self._report(message, stack, nonfatal, segmentation)
        except Exception as e:
            core.internal_error(_M, "record_error", e)
            return False

    def guard(self, func, *args, **kwargs):
        # Runs func; an exception escaping it is recorded as fatal, queued on flash, re-raised.
        core = self._core
        core.log.i(_M, "guard")
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            try:
                self._report(_headline(exc), exception_text(exc), False, None)
            except Exception as e:
                core.internal_error(_M, "guard", e)
            raise

    def enable_auto(self, segmentation=None):
        core = self._core
        try:
            core.log.i(_M, "enable_auto")
            if not hasattr(sys, "excepthook"):
                core.log.w(_M, "enable_auto", "sys.excepthook not available on this runtime; "
                                              "use guard() around the main loop")
                return False
            self._auto_seg = segmentation if isinstance(segmentation, dict) else None
            if self._previous_hook is None:
                self._previous_hook = sys.excepthook
                sys.excepthook = self._hook
            return True
        except Exception as e:
            core.internal_error(_M, "enable_auto", e)
            return False

    def _hook(self, etype, value, tb):
        try:
            if isinstance(value, Exception):
                self._report(_headline(value), exception_text(value), False, self._auto_seg)
        except Exception as e:
            self._core.internal_error(_M, "excepthook", e)
        previous = self._previous_hook or sys.__excepthook__
        previous(etype, value, tb)

    # ---- building the report ----
    def _report(self, message, stack, nonfatal, segmentation):
        core = self._core
        if not core.consent_has("crashes"):
            core.log.d(_M, "record", "no crashes consent, crash not recorded")
            return False
        cfg = core.config
        text = message if not stack else message + "\n" + stack
        error = _limit_lines(text, cfg.max_stack_trace_lines_per_thread,
                             cfg.max_stack_trace_line_length, core.request_queue.max_item // 2)
        metrics = core.platform.metrics()
        for k in cfg.metrics:
            metrics[k] = cfg.metrics[k]
        crash = {
            "_os": metrics.get("_os") or core.platform.name,
            "_os_version": metrics.get("_os_version"),
            "_device": metrics.get("_device"),
            "_app_version": cfg.app_version,
            "_error": error,
            "_name": error.split("\n", 1)[0],
            "_nonfatal": bool(nonfatal),
            "_run": core.clock.since(core._init_ticks) // 1000,
        }
        if self._crumbs:
            crash["_logs"] = "\n".join(self._crumbs)
        custom = {}
        if cfg.crash_segmentation:
            for k in cfg.crash_segmentation:
                custom[k] = cfg.crash_segmentation[k]
        if isinstance(segmentation, dict):
            for k in segmentation:
                custom[k] = segmentation[k]
        custom = limits.segmentation(core, custom, _M, "record")
        if custom:
            crash["_custom"] = custom
        ram = getattr(core.platform, "ram", None)
        if ram is not None:
            got = ram()
            if got:
                crash["_ram_current"], crash["_ram_total"] = got[0], got[1]
        for k in ("_os_version", "_device"):
            if crash[k] is None:
                del crash[k]
        core.flush_events()  # what happened before the crash is queued before it
        while True:
            try:
                return core.enqueue([("crash", dumps(crash))], force_post=True)
            except ValueError:
                # Larger than one flash-queue record: the trace loses lines from its end
                # (then breadcrumbs) until it fits, rather than the crash being lost.
                lines = crash["_error"].split("\n")
                if len(lines) > 1:
                    crash["_error"] = "\n".join(lines[: len(lines) * 3 // 4])
                elif crash.get("_logs"):
                    crash["_logs"] = crash["_logs"][(len(crash["_logs"]) + 1) // 2:]
                else:
                    raise


def _headline(exc):
    text = str(exc)
    name = type(exc).__name__
    return name + ": " + text if text else name


def _limit_lines(text, max_lines, max_len, budget):
    # The first max_lines lines, each cut to max_len, and at most `budget` characters in all
    # (one request must fit one flash-queue record). Scans in place: no list of every line.
    out = []
    size = 0
    start = 0
    n = len(text)
    limit = min(max_lines, _MAX_LINES)
    while start < n and len(out) < limit:
        end = text.find("\n", start)
        if end < 0:
            end = n
        line = text[start : min(end, start + max_len)]
        if out and size + len(line) + 1 > budget:
            break
        out.append(line)
        size += len(line) + 1
        start = end + 1
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out)
