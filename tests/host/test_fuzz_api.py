# test_fuzz_api.py - hypothesis fuzzing of the public feature API on CPython.
# Odd types, huge strings, NaN/inf, nested dicts and unicode keys go into every public call;
# no exception may reach the caller, and every request the SDK produces must respect the
# configured limits. Each example makes a batch of calls: well over 10,000 calls in total.

import json
import math
import os
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
for sub in ("lib", "tests/support"):
    p = os.path.join(ROOT, sub)
    if p not in sys.path:
        sys.path.insert(0, p)

from fakes import FakePlatform, ScriptedTransport  # noqa: E402

from countly_mp.config import Config  # noqa: E402
from countly_mp.countly import Countly  # noqa: E402
from countly_mp.segment import Analytics  # noqa: E402

KEY, VALUE, SEG, CRUMBS, LINES, LINE_LEN = 20, 30, 5, 3, 4, 40
VIEW_KEYS = ("name", "segment", "visit", "start", "_idv")
CALLS = {"n": 0, "requests": 0, "events": 0, "crash": 0, "user_details": 0, "apm": 0}

# Long strings are built, not drawn character by character: drawing 5000 characters per value
# would spend the time budget in data generation instead of in the SDK.
huge = st.builds(lambda c, n: c * n, st.sampled_from(["x", "é", "👍", "\n", "a\nb", "%&="]),
                 st.integers(min_value=100, max_value=5000))
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12), huge,
    st.binary(max_size=8),
    st.sampled_from(["", " ", "[CLY]_view", "$set", "a.b", "\x00\n\t", "countly", "revenue"]))
values = st.one_of(scalars, st.lists(scalars, max_size=3),
                   st.dictionaries(st.text(max_size=6), scalars, max_size=3))
keys = st.one_of(st.text(max_size=12), huge, scalars)
dicts = st.one_of(st.dictionaries(st.one_of(st.text(max_size=12), huge, st.integers()), values,
                                  max_size=8), values)

_ly = {}


def countly():
    if "ly" not in _ly:
        t = ScriptedTransport()
        p = FakePlatform(transport=t)
        cfg = Config("http://127.0.0.1:9", "APPKEY", device_id="fuzz", max_key_length=KEY,
                     max_value_size=VALUE, max_segmentation_values=SEG,
                     max_breadcrumb_count=CRUMBS, max_stack_trace_lines_per_thread=LINES,
                     max_stack_trace_line_length=LINE_LEN, event_queue_threshold=5,
                     request_queue_size=10000)
        ly = Countly(cfg, platform=p)
        _ly["ly"], _ly["t"], _ly["p"] = ly, t, p
    return _ly["ly"], _ly["t"], _ly["p"]


def _calls(ly, a):
    u, v, c, ap, at, loc, con = ly.user, ly.views, ly.crashes, ly.apm, ly.attribution, \
        ly.location, ly.consent
    return (
        lambda x, y, z: ly.events.record(x, y, z, z, y),
        lambda x, y, z: (ly.events.start(x), ly.events.end(x, y, z, z)),
        lambda x, y, z: v.start(x, y), lambda x, y, z: v.stop(x, y),
        lambda x, y, z: c.add_breadcrumb(x), lambda x, y, z: c.record_error(x, z, y, y),
        lambda x, y, z: c.record_exception(ValueError(x), z, y),
        lambda x, y, z: c.guard(lambda: x),
        lambda x, y, z: u.set_properties(y), lambda x, y, z: u.set(x, z),
        lambda x, y, z: u.set_once(x, z), lambda x, y, z: u.increment(x),
        lambda x, y, z: u.increment_by(x, z), lambda x, y, z: u.multiply(x, z),
        lambda x, y, z: u.max(x, z), lambda x, y, z: u.min(x, z), lambda x, y, z: u.push(x, z),
        lambda x, y, z: u.push_unique(x, z), lambda x, y, z: u.pull(x, z),
        lambda x, y, z: u.save(), lambda x, y, z: (u.push(x, z), u.set_properties(y), u.save()),
        lambda x, y, z: loc.set(x, z, y, x), lambda x, y, z: loc.set(gps=z),
        lambda x, y, z: ap.start_trace(x), lambda x, y, z: ap.end_trace(x, y),
        lambda x, y, z: (ap.start_trace(x), ap.end_trace(x, y)),
        lambda x, y, z: ap.cancel_trace(x),
        lambda x, y, z: ap.record_network_trace(x, z, z, z, z, z),
        lambda x, y, z: at.record_direct(x, z), lambda x, y, z: at.record_indirect(y),
        lambda x, y, z: con.give(x), lambda x, y, z: con.has(x),
        lambda x, y, z: a.track(x, y), lambda x, y, z: a.screen(x, y),
        lambda x, y, z: ly.device_id.get(),
    )


def _no_const(name):
    raise AssertionError("non-JSON constant %s" % name)


def _text_ok(v, limit):
    return not isinstance(v, str) or len(v) <= limit


def _check_seg(seg, extra=()):
    assert isinstance(seg, dict)
    assert len([k for k in seg if k not in extra]) <= SEG
    for k, v in seg.items():
        assert len(k) <= KEY
        for x in (v if isinstance(v, list) else [v]):
            assert _text_ok(x, VALUE), (k, x)


def check(t):
    for i in range(len(t.sent)):
        params = dict(t.params(i))
        CALLS["requests"] += 1
        for name in ("events", "crash", "user_details", "apm"):
            if name in params:
                CALLS[name] += 1
        for name in ("events", "crash", "user_details", "apm", "consent", "aid", "metrics"):
            if name in params:
                json.loads(params[name], parse_constant=_no_const)
        if "events" in params:
            for e in json.loads(params["events"]):
                assert len(e["key"]) <= KEY
                if "segmentation" in e:
                    view = e["key"] == "[CLY]_view"
                    _check_seg(e["segmentation"], VIEW_KEYS if view else ())
                if "sum" in e:
                    assert math.isfinite(e["sum"])
        if "crash" in params:
            c = json.loads(params["crash"])
            if "_logs" in c:
                crumbs = c["_logs"].split("\n")
                assert len(crumbs) <= CRUMBS and all(len(b) <= VALUE for b in crumbs)
            lines = c["_error"].split("\n")
            assert len(lines) <= LINES and all(len(x) <= LINE_LEN for x in lines)
            if "_custom" in c:
                _check_seg(c["_custom"])
        if "user_details" in params:
            d = json.loads(params["user_details"])
            for k, v in d.items():
                if k == "picture":
                    assert len(v) <= 4096
                elif k != "custom":
                    assert _text_ok(v, VALUE)
            for k, v in d.get("custom", {}).items():
                assert len(k) <= KEY
                inner = list(v.values())[0] if isinstance(v, dict) else v
                for x in (inner if isinstance(inner, list) else [inner]):
                    assert _text_ok(x, VALUE)
        if "apm" in params:
            assert len(json.loads(params["apm"])["name"]) <= KEY


def run_batch(batch):
    ly, t, p = countly()
    a = Analytics(ly)
    calls = _calls(ly, a)
    for idx, x, y, z in batch:
        calls[idx % len(calls)](x, y, z)  # must never raise
        CALLS["n"] += 1
        p.advance(7)
    ly.flush()
    check(t)
    t.sent[:] = []


batch_item = st.tuples(st.integers(min_value=0, max_value=200), keys, dicts, values)
FUZZ = settings(max_examples=int(os.getenv("FUZZ_N", "700")), deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


@FUZZ
@given(st.lists(batch_item, min_size=10, max_size=20))
def test_fuzz_public_api_never_raises_and_limits_hold(batch):
    run_batch(batch)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.sampled_from([0, 2, 4, 5, 8, 9, 20, 30]), st.text(max_size=60),
                          st.dictionaries(st.one_of(st.text(max_size=30), huge),
                                          st.one_of(st.text(max_size=40), huge), max_size=12),
                          st.one_of(st.text(max_size=60), huge)),
                min_size=10, max_size=20))
def test_fuzz_long_unicode_strings_hit_every_limit(batch):
    run_batch(batch)


def test_zz_total_calls_at_least_10000():
    # Runs after the two fuzz tests above (pytest keeps file order); alone, it runs them.
    if CALLS["n"] == 0:
        test_fuzz_public_api_never_raises_and_limits_hold()
        test_fuzz_long_unicode_strings_hit_every_limit()
    assert CALLS["n"] >= 10000, CALLS
    # the limits were checked on real output of every kind, not on an empty stream
    assert min(CALLS[k] for k in ("events", "crash", "user_details", "apm")) >= 20, CALLS
