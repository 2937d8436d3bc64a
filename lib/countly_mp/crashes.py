# crashes.py - handled and unhandled errors as `crash` requests, with breadcrumbs.
# The report is built once, limited (lines per trace, characters per line, breadcrumbs,
# segmentation), fitted to the request budget (_fit says what goes first), and queued on flash
# by POST before anything else can fail. Needs "crashes".

import sys

from . import limits
from .compat import call_cold, exception_text
from .request import REQUEST_MAX

_M = "Crashes"
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

    def _report(self, message, stack, nonfatal, segmentation):
        # Building the report (limits, metrics, fitting the budget) is crashreport.py, loaded
        # for a crash and dropped after: an app keeps only guard() and the breadcrumbs.
        return call_cold("crashreport", "report", self, message, stack, nonfatal, segmentation)


def _headline(exc):
    text = str(exc)
    name = type(exc).__name__
    return name + ": " + text if text else name
