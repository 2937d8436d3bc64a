# test_segment.py - the Segment-style facade: track, screen, identify, flush.
# Runs under pytest and under `micropython -X heapsize=128k`.

import json

from featkit import events, make, sent

from countly_mp.segment import Analytics


def test_track_round_trip():
    ly, p, t = make(manual_sessions=True)
    a = Analytics(ly)
    assert a.track("Order Completed", {"revenue": 9.99, "sku": "A1"})
    assert a.track("Opened")
    assert a.track("Odd", {"revenue": "free"})  # not a number: stays a segment
    ev = events(sent(ly, t))
    assert ev[0]["key"] == "Order Completed" and ev[0]["count"] == 1 and ev[0]["sum"] == 9.99
    assert ev[0]["segmentation"] == {"sku": "A1"}
    assert ev[1]["key"] == "Opened" and "sum" not in ev[1] and "segmentation" not in ev[1]
    assert "sum" not in ev[2] and ev[2]["segmentation"] == {"revenue": "free"}


def test_screen_identify_flush():
    ly, p, t = make(manual_sessions=True)
    a = Analytics(ly)
    assert a.screen("Settings", {"from": "menu"})
    assert a.identify("user-42", {"email": "a@x.io", "plan": "pro"})
    assert a.flush() == 3
    reqs = sent(ly, t)
    v = events(reqs, "[CLY]_view")[0]["segmentation"]
    assert v["name"] == "Settings" and v["from"] == "menu"
    assert reqs[0]["device_id"] == "dev1"
    assert reqs[1]["device_id"] == "user-42" and reqs[1]["old_device_id"] == "dev1"
    assert json.loads(reqs[2]["user_details"]) == {"email": "a@x.io", "custom": {"plan": "pro"}}


def test_never_raises():
    ly, p, t = make(manual_sessions=True)
    a = Analytics(ly)
    assert a.track(None) is False and a.track("x", properties=7)
    assert a.screen(None) is None and a.identify(None) is False
    assert Analytics(None).track("x") is False and Analytics(None).flush() == 0
