# test_views.py - "[CLY]_view" events: start/visit/_idv, durations from ticks, session end.
# Runs under pytest and under `micropython -X heapsize=128k`.

from featkit import events, make, sent


def test_first_view_start_then_duration_on_next_start():
    ly, p, t = make(manual_sessions=True)
    vid = ly.views.start("home", {"from": "boot"})
    assert isinstance(vid, str) and len(vid) >= 12
    p.advance(2500)
    vid2 = ly.views.start("settings")
    assert vid2 != vid
    ev = events(sent(ly, t), "[CLY]_view")
    assert len(ev) == 3
    s0 = ev[0]["segmentation"]
    assert s0 == {"from": "boot", "name": "home", "segment": "TestOS", "visit": 1, "start": 1,
                  "_idv": vid}
    assert ev[0]["count"] == 1 and "dur" not in ev[0]
    assert ev[1]["dur"] == 2.5 and ev[1]["segmentation"]["_idv"] == vid
    assert "visit" not in ev[1]["segmentation"] and ev[1]["segmentation"]["name"] == "home"
    s2 = ev[2]["segmentation"]
    assert s2["name"] == "settings" and s2["visit"] == 1 and "start" not in s2
    assert s2["_idv"] == vid2


def test_stop_ends_current_view_and_rejects_others():
    ly, p, t = make(manual_sessions=True)
    ly.views.start("a")
    p.advance(700)
    assert ly.views.stop("b") is False
    assert ly.views.stop("a", {"k": "v"}) is True
    assert ly.views.stop() is False  # nothing open
    ev = events(sent(ly, t), "[CLY]_view")
    assert ev[1]["dur"] == 0.7 and ev[1]["segmentation"]["k"] == "v"


def test_session_end_ends_view_and_next_session_starts_again():
    ly, p, t = make(manual_sessions=True)
    ly.sessions.begin()
    ly.views.start("a")
    p.advance(3000)
    ly.sessions.end()
    ly.sessions.begin()
    ly.views.start("b")
    reqs = sent(ly, t)
    names = [("begin" if "begin_session" in r else "end" if "end_session" in r else
              "ev" if "events" in r else "?") for r in reqs]
    assert names == ["begin", "ev", "end", "begin", "ev"]
    ev = events(reqs, "[CLY]_view")
    assert ev[1]["dur"] == 3.0 and ev[1]["segmentation"]["name"] == "a"
    assert ev[2]["segmentation"]["start"] == 1  # first view of the second session


def test_views_consent_and_bad_names():
    ly, p, t = make(manual_sessions=True, require_consent=True, consents=["events"])
    assert ly.views.start("a") is None
    assert ly.views.start(None) is None and ly.views.start("") is None
    ly.consent.give("views")
    assert ly.views.start("x" * 300) is not None
    ev = events(sent(ly, t), "[CLY]_view")
    assert len(ev) == 1 and ev[0]["segmentation"]["name"] == "x" * 128


def test_view_id_is_8_base64_characters_then_the_time_in_ms():
    from fakes import T0

    ly, p, t = make(manual_sessions=True)
    vid = ly.views.start("a")
    b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    assert len(vid) == 8 + 13 and all(c in b64 for c in vid[:8])
    assert int(vid[8:]) >= T0
    assert ly.views.start("b")[:8] != vid[:8]


def test_stop_with_manual_sessions_ends_the_open_view_with_its_duration():
    ly, p, t = make(manual_sessions=True)
    ly.views.start("screen")
    p.advance(4200)
    ly.stop()
    ev = events(sent(ly, t), "[CLY]_view")
    assert len(ev) == 2 and ev[1]["dur"] == 4.2 and ev[1]["segmentation"]["name"] == "screen"
