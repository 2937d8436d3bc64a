# test_server_config_filters.py - the server configuration's filters: event keys (eb),
# segmentation keys (sb, and esb per event), user properties (upb), as block lists
# (Blacklisting, the default) or allow lists (Whitelisting); internal events keep their own
# keys; timed events and cached properties survive a filter change.
# Runs under pytest and under `micropython -X heapsize=128k`.

import json

from featkit import events, make, only, sent


def boot(c, **opts):
    ly, p, t = make(manual_sessions=True, **opts)
    t.fixtures["sc"] = {"v": 2, "t": 1700000000000, "c": c}
    for _ in range(4):
        ly.tick()
    return ly, p, t


def test_block_lists():
    ly, p, t = boot({"eb": ["noisy", "[CLY]_view"], "sb": ["secret"],
                     "esb": {"order": ["card"]}})
    assert ly.events.record("noisy") is False
    assert ly.events.record("order", segmentation={"card": "4111", "secret": 1, "sku": "A1"})
    assert ly.events.record("other", segmentation={"card": "x", "secret": 2})
    assert ly.views.start("home") is None  # a block list may name an internal event
    ev = events(sent(ly, t))
    assert [(e["key"], e.get("segmentation")) for e in ev] == [
        ("order", {"sku": "A1"}), ("other", {"card": "x"})]


def test_allow_lists_and_internal_events():
    ly, p, t = boot({"filter_preset": "Whitelisting", "eb": ["reading"], "sb": ["temp"],
                     "upb": ["plan", "name"]})
    assert ly.events.record("reading", segmentation={"temp": 21, "raw": 99})
    assert ly.events.record("debug") is False
    assert ly.views.start("home")  # internal events pass an allow list with their own keys
    assert ly.user.set("plan", "pro") and ly.user.set("tmp", 1) is False
    assert ly.user.set_properties({"name": "Ann", "email": "a@x.io", "plan": "max"})
    ly.user.save()
    reqs = sent(ly, t)
    ev = events(reqs)
    assert [e["key"] for e in ev] == ["reading", "[CLY]_view"]
    assert ev[0]["segmentation"] == {"temp": 21}
    assert ev[1]["segmentation"]["name"] == "home"
    details = json.loads(only(reqs, "user_details")[0]["user_details"])
    assert details == {"name": "Ann", "custom": {"plan": "max"}}


def test_filters_follow_the_configuration_and_keep_the_state():
    ly, p, t = make(manual_sessions=True)
    ly.events.start("timed")
    ly.user.set("kept", 1)
    t.fixtures["sc"] = {"v": 2, "t": 1, "c": {"eb": ["x"]}}
    for _ in range(3):
        ly.tick()
    assert ly.events.record("x") is False
    assert ly.events.end("timed")  # started before the filters: still running
    t.fixtures["sc"] = {"v": 2, "t": 2, "c": {}}
    from countly_mp import jobs

    jobs.add(ly, "sc")
    ly.tick()
    assert ly.events.record("x")  # the server dropped its filters
    ly.user.save()
    reqs = sent(ly, t)
    assert json.loads(only(reqs, "user_details")[0]["user_details"]) == {"custom": {"kept": 1}}
    assert [e["key"] for e in events(reqs)] == ["timed", "x"]
