# test_crashes.py - `crash` requests: fields, limits, breadcrumbs, guard() and consent.
# Runs under pytest and under `micropython -X heapsize=128k` (the every-limit test at 224k:
# tests/heap_over_budget.txt).

import json
import sys

from featkit import make, only, sent


def crashes(ly, t):
    reqs = sent(ly, t)
    return [json.loads(r["crash"]) for r in only(reqs, "crash")]


def test_record_error_fields_and_post():
    ly, p, t = make(manual_sessions=True, app_version="2.0", crash_segmentation={"board": "x"})
    p.advance(42500)
    assert ly.crashes.record_error("disk full", "at a\nat b", segmentation={"n": 3})
    ly.flush()
    assert t.sent[0][0] == "POST"
    c = json.loads(t.param(0, "crash"))
    assert c["_error"] == "disk full\nat a\nat b" and c["_name"] == "disk full"
    assert c["_os"] == "TestOS" and c["_os_version"] == "1.0" and c["_device"] == "fake-board"
    assert c["_app_version"] == "2.0" and c["_nonfatal"] is True and c["_run"] == 42
    assert c["_custom"] == {"board": "x", "n": 3}
    assert "_logs" not in c
    # device state in Countly's units: MB (the port gives bytes), and whether it is online
    assert c["_ram_current"] == 1.5 and c["_ram_total"] == 8.0
    assert c["_disk_current"] == 0.25 and c["_disk_total"] == 2.0
    assert c["_online"] is True


def test_limits_three_breadcrumbs_limit_two_three_lines_of_ten():
    ly, p, t = make(manual_sessions=True, max_breadcrumb_count=2,
                    max_stack_trace_lines_per_thread=3, max_stack_trace_line_length=10)
    for b in ("one", "two", "three"):
        assert ly.crashes.add_breadcrumb(b)
    ly.crashes.record_error("0123456789abcdef", "line-two-is-long\nline3\nline4\nline5")
    c = crashes(ly, t)[0]
    assert c["_logs"] == "two\nthree"
    assert c["_error"] == "0123456789\nline-two-i\nline3"
    assert c["_name"] == "0123456789"


def test_record_exception_nonfatal_and_flushes_events_first():
    ly, p, t = make(manual_sessions=True)
    ly.events.record("before")
    try:
        raise ValueError("bad value")
    except ValueError as e:
        assert ly.crashes.record_exception(e)
    reqs = sent(ly, t)
    assert "events" in reqs[0] and "crash" in reqs[1]
    c = json.loads(reqs[1]["crash"])
    assert c["_name"] == "ValueError: bad value" and "ValueError" in c["_error"]
    assert len(c["_error"].split("\n")) >= 2


def test_guard_records_fatal_durably_and_reraises():
    ly, p, t = make(manual_sessions=True)

    def work(a, b=0):
        return a // b

    assert ly.crashes.guard(work, 6, b=3) == 2
    raised = False
    try:
        ly.crashes.guard(work, 1, b=0)
    except ZeroDivisionError:
        raised = True
    assert raised and ly.pending() == 1  # on flash before the exception left guard()
    c = crashes(ly, t)[0]
    assert c["_nonfatal"] is False and c["_name"].startswith("ZeroDivisionError")


def test_enable_auto_where_available():
    ly, p, t = make(manual_sessions=True)
    if not hasattr(sys, "excepthook"):
        assert ly.crashes.enable_auto() is False
        return
    saved = sys.excepthook
    try:
        calls = []
        sys.excepthook = lambda *a: calls.append(a)
        assert ly.crashes.enable_auto({"auto": 1})
        try:
            raise KeyError("k")
        except KeyError as e:
            sys.excepthook(KeyError, e, None)
        assert len(calls) == 1  # the previous hook still runs
    finally:
        sys.excepthook = saved
    c = crashes(ly, t)[0]
    assert c["_nonfatal"] is False and c["_custom"] == {"auto": 1}


def test_consent_and_bad_input():
    ly, p, t = make(manual_sessions=True, require_consent=True, consents=["events"])
    assert ly.crashes.record_error("x") is False
    assert ly.crashes.add_breadcrumb("b") is False
    ly.consent.give("crashes")
    assert ly.crashes.record_error(None) is False
    assert ly.crashes.record_exception("not an exception") is False
    assert ly.crashes.add_breadcrumb(5) is False
    assert ly.crashes.add_breadcrumb("y" * 1000)
    assert ly.crashes.record_error("m", stack=None)
    c = crashes(ly, t)[0]
    assert c["_logs"] == "y" * 256 and c["_error"] == "m"


def test_crash_at_every_limit_is_trimmed_in_the_documented_order_not_lost():
    from countly_mp.request import REQUEST_MAX

    seg = {}
    value = "v" * 256  # one string object for every value: the test heap is 128 KiB
    for i in range(100):  # max_segmentation_values, keys and values at their limits
        seg["%03d" % i + "k" * 125] = value
    stack = "\n".join(["%02d" % i + "s" * 198 for i in range(40)])  # 30 lines kept, 200 each
    lines = []
    ly, p, t = make(manual_sessions=True,
                    log_listener=lambda m, lv: lv <= 2 and lines.append(m))  # warnings up
    for i in range(100):  # max_breadcrumb_count, each at max_value_size
        assert ly.crashes.add_breadcrumb("%03d" % i + "b" * 253)
    assert ly.crashes.record_error("big", stack, segmentation=seg)
    ly.flush()
    assert len(t.sent) == 1 and len(t.sent[0][2]) <= REQUEST_MAX + 100
    c = json.loads(t.param(0, "crash"))
    assert c["_name"] == "big" and "_custom" not in c and "_logs" not in c
    kept = c["_error"].split("\n")
    assert kept[0] == "big" and 1 < len(kept) < 30 and kept[1].startswith("00")
    assert ly.status()["trimmed"] == 1
    assert [x for x in lines if "breadcrumbs, custom values, stack lines dropped" in x]
    # a smaller excess costs only the oldest breadcrumbs
    ly, p, t = make(manual_sessions=True)
    for i in range(100):
        ly.crashes.add_breadcrumb("%03d" % i + "b" * 253)
    assert ly.crashes.record_error("small", "in f()", segmentation={"n": 1})
    c = json.loads(sent(ly, t)[0]["crash"])
    crumbs = c["_logs"].split("\n")
    assert c["_error"] == "small\nin f()" and c["_custom"] == {"n": 1}
    assert crumbs[-1].startswith("099") and 1 < len(crumbs) < 100
