# crashes.py - handled and unhandled errors as `crash` requests, with breadcrumbs.
# The report is built once, limited (lines per trace, characters per line, breadcrumbs,
# segmentation), fitted to the request budget (_fit says what goes first), and queued on flash
# by POST before anything else can fail. Needs "crashes".

import sys

from . import limits
from .compat import dumps, exception_text
from .log import ERROR
from .request import REQUEST_MAX
from .wire import encoded_len

_M = "Crashes"
_MAX_LINES = 1500  # the guide's sanity cap: 50 threads of 30 lines
# Breadcrumbs held in RAM: the newest max_breadcrumb_count, and no more text than a crash
# request could ever carry (100 x 256 characters would hold 25 KB of a board's heap for nothing).
_CRUMB_CHARS = REQUEST_MAX - 1024


class Crashes:
    def __init__(self, core):
        self._core = core
        self._crumbs = []
        self._chars = 0  # characters held by the breadcrumbs
        self._auto_seg = None
        self._previous_hook = None

    # ---- public ----
    def add_breadcrumb(self, text):
        core = self._core
        try:
            core.log.i(_M, "add_breadcrumb")
            if not core.accepting(_M, "add_breadcrumb"):
                return False
            if not core.consent_has("crashes"):
                core.log.w(_M, "add_breadcrumb", "no crashes consent, ignored")
                return False
            if not isinstance(text, str) or text == "":
                core.log.w(_M, "add_breadcrumb", "breadcrumb must be a non-empty string, ignored")
                return False
            # One breadcrumb is one line of _logs: its own line breaks would count as more.
            text = limits.value(core, text.replace("\r", " ").replace("\n", " "), _M,
                                "add_breadcrumb")
            crumbs = self._crumbs
            crumbs.append(text)
            self._chars += len(text)
            limit = core.config.max_breadcrumb_count
            while len(crumbs) > limit or self._chars > _CRUMB_CHARS:
                core.log.d(_M, "add_breadcrumb", "breadcrumb limit reached, oldest dropped")
                self._chars -= len(crumbs.pop(0))
            return True
        except Exception as e:
            core.internal_error(_M, "add_breadcrumb", e)
            return False

    def record_exception(self, exc, nonfatal=True, segmentation=None):
        core = self._core
        try:
            core.log.i(_M, "record_exception", "nonfatal=%s", bool(nonfatal))
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
            core.log.i(_M, "record_error", "nonfatal=%s", bool(nonfatal))
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
        if not core.accepting(_M, "record"):
            return False
        if not core.consent_has("crashes"):
            core.log.w(_M, "record", "no crashes consent, crash not recorded")
            return False
        cfg = core.config
        lines = _limit_lines((message, stack), cfg.max_stack_trace_lines_per_thread,
                             cfg.max_stack_trace_line_length)
        p = core.platform
        metrics = p.metrics()
        for k in cfg.metrics:
            metrics[k] = cfg.metrics[k]
        crash = {
            "_os": metrics.get("_os") or p.name,
            "_app_version": cfg.app_version,
            "_nonfatal": bool(nonfatal),
            "_run": core.clock.since(core._init_ticks) // 1000,
        }
        for k in ("_os_version", "_device"):
            if metrics.get(k) is not None:
                crash[k] = metrics[k]
        # Device state the port can tell, in the units Countly expects (MB, percent).
        for name, hook in (("ram", "ram"), ("disk", "disk")):
            fn = getattr(p, hook, None)
            got = fn() if fn is not None else None
            if got:
                crash["_%s_current" % name] = _mb(got[0])
                crash["_%s_total" % name] = _mb(got[1])
        bat = getattr(p, "battery", None)
        bat = bat() if bat is not None else None
        if bat is not None:
            crash["_bat"] = bat
        crash["_online"] = bool(p.is_online())
        custom = {}
        for k in cfg.crash_segmentation:
            custom[k] = cfg.crash_segmentation[k]
        if isinstance(segmentation, dict):
            for k in segmentation:
                custom[k] = segmentation[k]
        custom = limits.segmentation(core, custom, _M, "record")
        if custom:
            crash["_custom"] = custom
        core.safely("crash events", core.batcher.close)  # what happened before goes first
        body = _fit(core, crash, list(self._crumbs), lines, core.builder.room("crash"))
        if body is None:
            return False
        return core.enqueue([("crash", body)], post=True)


def _mb(n):
    # bytes -> MB with two decimals (Countly's unit for the _ram_*/_disk_* crash keys)
    return (n * 100 // 1048576) / 100


_CUSTOM_WRAP = 30  # encoded ',"_custom":{}' around the custom values


def _size(value):
    # Encoded bytes of a string inside a JSON string (no quotes), plus its "\n" separator.
    return encoded_len(dumps(value)) - 6 + 4


def _fit(core, crash, crumbs, lines, budget):
    # The crash JSON within `budget` encoded bytes. What does not fit goes in this order, each
    # reported once: the oldest breadcrumbs, the largest custom values, stack trace lines from
    # the end (the first line, the error itself, stays), then the end of the first line. Sizes
    # are added up piece by piece: the whole report is only written out once it fits (a board
    # could not hold 100 custom values of 256 characters as one string).
    # -> the JSON text, or None when even that cannot fit.
    custom = crash.pop("_custom", None) or {}
    crash["_logs"] = crash["_error"] = crash["_name"] = ""
    sizes = sorted((-(encoded_len(dumps(k)) + encoded_len(dumps(custom[k])) + 6), k)
                   for k in custom)
    over = (encoded_len(dumps(crash)) + (_CUSTOM_WRAP if custom else 0) - sum(n for n, k in sizes)
            + sum(_size(c) for c in crumbs) + 2 * sum(_size(x) for x in lines[:1])
            + sum(_size(x) for x in lines[1:]) - budget)
    dropped = []
    while over > 0 and crumbs:
        over -= _size(crumbs.pop(0))
        _note(dropped, "breadcrumbs")
    for neg, k in sizes:
        if over <= 0:
            break
        del custom[k]
        over += neg
        _note(dropped, "custom values")
    sizes = None
    if custom:
        crash["_custom"] = custom
    else:
        over -= _CUSTOM_WRAP
    while over > 0 and len(lines) > 1:
        over -= _size(lines.pop())
        _note(dropped, "stack lines")
    while lines:
        if over > 0:
            # the first line alone: keep what fits (3 encoded bytes a character at worst)
            lines[0] = lines[0][: max(0, len(lines[0]) - (over + 2) // 2 - 8)]
            _note(dropped, "the error text")
        if crumbs:
            crash["_logs"] = "\n".join(crumbs)
        else:
            del crash["_logs"]
        crash["_error"] = "\n".join(lines)
        crash["_name"] = lines[0]
        body = dumps(crash)
        over = encoded_len(body) - budget
        if over <= 0:
            if dropped:
                core.trim(_M, "record", "crash too large for one request: %s dropped",
                          ", ".join(dropped))
            return body
        if not lines[0]:
            break
        crash["_logs"] = ""
    core.log.notice("crash-too-large", ERROR, _M, "record",
                    "crash too large to send, not recorded")
    return None


def _note(dropped, what):
    if what not in dropped:
        dropped.append(what)


def _headline(exc):
    text = str(exc)
    name = type(exc).__name__
    return name + ": " + text if text else name


def _limit_lines(texts, max_lines, max_len):
    # The first max_lines lines of the message and then the stack (the guide's sanity cap of
    # 50 threads x 30 lines at most), each cut to max_len. Scans in place: no copy of a huge
    # trace, no list of all its lines.
    out = []
    limit = min(max_lines, _MAX_LINES)
    for text in texts:
        start = 0
        n = len(text) if text else 0
        while start < n and len(out) < limit:
            end = text.find("\n", start)
            if end < 0:
                end = n
            out.append(text[start : min(end, start + max_len)])
            start = end + 1
    while out and out[-1] == "":
        out.pop()
    return out or [""]
