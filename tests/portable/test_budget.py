# test_budget.py - whatever the public API accepts becomes requests that fit one request each:
# every limit at its maximum, with Config defaults, is delivered or trimmed as documented and
# never stuck. Runs under pytest and under MicroPython, three tests above 128k (values are
# shared string objects where the test would otherwise need more heap than a board has;
# tests/heap_over_budget.txt gives the heaps).

import json

from collect import Collector
from fakes import FakePlatform

from countly_mp.config import Config
from countly_mp.countly import Countly
from countly_mp.request import REQUEST_MAX

URL = "http://127.0.0.1:9"


def make(**opts):
    c = Collector()
    lines = []
    opts.setdefault("log_listener", lambda m, lv: lv <= 2 and lines.append(m))  # warnings up
    ly = Countly(Config(URL, "APPKEY", **opts), platform=FakePlatform(transport=c))
    return ly, c, lines


def test_thirty_events_with_two_key_segmentation_are_delivered_at_defaults():
    # The stall seen with default settings: 30 such events made one batch too large to queue.
    ly, c, _ = make(manual_sessions=True)
    for i in range(30):
        assert ly.events.record("reading", segmentation={"sensor": "bme280", "room": "lab",
                                                         "id": i})
    assert ly.flush() >= 2 and ly.pending() == 0
    assert c.delivered_once(range(30)) == ([], [])


def test_one_event_at_every_segmentation_limit_is_trimmed_and_delivered():
    value = "v" * 256  # max_value_size
    seg = {"id": "big"}
    for i in range(99):  # max_segmentation_values with "id"
        seg["%03d" % i + "k" * 125] = value  # max_key_length
    ly, c, lines = make(manual_sessions=True)  # after the data: a board's app has it first
    assert ly.events.record("k" * 128, segmentation=seg)
    c.keep("events")
    assert ly.flush() == 1
    e = json.loads(c.items[0][1])[0]
    assert e["key"] == "k" * 127 and e["segmentation"]["id"] == "big"
    assert 1 < len(e["segmentation"]) < 100  # the largest entries went, not the event
    assert ly.status()["trimmed"] == 1
    assert [x for x in lines if "too large for one request: " in x and "values dropped" in x]


def test_eight_values_of_256_characters_fit_and_are_delivered_whole():
    ly, c, _ = make(manual_sessions=True)
    value = "x" * 256
    seg = {"id": 1}
    for i in range(8):
        seg["s%d" % i] = value
    assert ly.events.record("legal", segmentation=seg)
    assert ly.flush() == 1 and c.delivered_once([1]) == ([], []) and ly.status()["trimmed"] == 0


def test_guard_keeps_the_fatal_crash_with_events_pending():
    ly, c, _ = make(manual_sessions=True)
    for i in range(30):
        ly.events.record("before", segmentation={"sensor": "bme280", "id": i})

    def boom():
        raise ValueError("sensor died")

    try:
        ly.crashes.guard(boom)
    except ValueError:
        pass
    c.keep("crash")
    ly.flush()
    assert c.delivered_once(range(30)) == ([], [])
    crash = json.loads(c.items[0][1])
    assert crash["_name"] == "ValueError: sensor died" and crash["_nonfatal"] is False


def test_fourteen_custom_properties_of_256_and_a_4096_picture_are_all_delivered():
    value = "p" * 256
    props = {"picture": "https://example.com/" + "a" * (4096 - 20)}
    for i in range(14):
        props["custom%02d" % i] = value
    ly, c, _ = make(manual_sessions=True)
    assert ly.user.set_properties(props)
    c.keep("user_details")
    assert ly.user.save()
    assert ly.flush() >= 2 and ly.pending() == 0
    got = {}
    for _name, v in c.items:
        d = json.loads(v)
        for k in d:
            if k == "custom":
                got.update(d["custom"])
            else:
                got[k] = d[k]
    assert got == props  # split over requests, nothing lost


def test_array_modifiers_past_the_budget_are_split_not_lost():
    value = "t" * 200
    ly, c, _ = make(manual_sessions=True)
    for i in range(40):
        assert ly.user.push("tags", value + "%02d" % i)
    c.keep("user_details")
    assert ly.user.save() and ly.flush() >= 2
    pushed = []
    for _name, v in c.items:
        pushed += json.loads(v)["custom"]["tags"]["$push"]
    assert pushed == [value + "%02d" % i for i in range(40)]


def test_a_picture_that_cannot_fit_is_refused_at_the_call_with_a_line():
    picture = "/" * 4096
    ly, c, lines = make(manual_sessions=True)
    assert not ly.user.set_properties({"picture": picture})  # each "/" is 3 bytes encoded
    assert [x for x in lines if "[picture] too large" in x]
    assert not ly.user.save() and ly.flush() == 0


def test_every_request_stays_within_the_budget():
    value = "é" * 256  # 2 UTF-8 bytes, 6 encoded: the worst common case
    stack = "\n".join(["y" * 200] * 30)
    ly, c, _ = make(manual_sessions=True, force_post=True)
    sizes = []
    real = c.exchange

    def measure(method, path, body=None, content_type=None):
        sizes.append(len(body))
        return real(method, path, body, content_type)

    c.exchange = measure
    for i in range(60):
        ly.events.record("e", segmentation={"id": i, "v": value})
    ly.crashes.record_error("x" * 200, stack)
    ly.flush()
    assert c.delivered_once(range(60)) == ([], [])
    assert max(sizes) <= REQUEST_MAX + 100  # + rr and the checksum
