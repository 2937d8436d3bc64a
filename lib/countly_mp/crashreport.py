# crashreport.py - building a crash report: lines limited, device state added, segmentation
# limited, the whole fitted to the request budget (_fit says what goes first), then queued on
# flash by POST. Loaded by crashes.py for a crash and dropped after.

from . import limits
from .compat import dumps
from .log import ERROR
from .wire import encoded_len

_M = "Crashes"
_MAX_LINES = 1500  # the guide's sanity cap: 50 threads of 30 lines


def report(crashes, message, stack, nonfatal, segmentation):
    core = crashes._core
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
    body = _fit(core, crash, list(crashes._crumbs), lines, core.builder.room("crash"))
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
