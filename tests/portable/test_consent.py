# test_consent.py - consent: full-state requests, groups, internal events, stopping features.
# Runs under pytest and under `micropython -X heapsize=128k`.

import json

from featkit import events, make, only, sent

from countly_mp.consent import Consent


def states(reqs):
    return [json.loads(r["consent"]) for r in only(reqs, "consent")]


def test_not_required_everything_allowed_nothing_sent():
    ly, p, t = make(manual_sessions=True)
    assert ly.consent.has(Consent.VIEWS) and ly.consent.has("crashes")
    assert ly.consent.give(Consent.EVENTS) and ly.consent.remove(Consent.EVENTS)
    assert ly.events.record("still")
    assert only(sent(ly, t), "consent") == []


def test_init_consents_sent_as_full_state_then_changes():
    ly, p, t = make(require_consent=True, consents=[Consent.SESSIONS, "activity"],
                    consent_groups={"activity": [Consent.EVENTS, Consent.VIEWS]})
    assert ly.consent.has("activity") and not ly.consent.has(Consent.CRASHES)
    assert ly.consent.give(Consent.EVENTS)  # already given: nothing sent
    ly.consent.give(Consent.CRASHES)
    ly.consent.remove(Consent.USERS)  # never given: nothing sent
    ly.consent.remove("activity")
    s = states(sent(ly, t))
    assert len(s) == 3
    assert sorted(s[0]) == sorted(Consent.ALL)
    on = [[f for f in Consent.ALL if st[f]] for st in s]
    assert on == [["sessions", "events", "views"], ["sessions", "events", "views", "crashes"],
                  ["sessions", "crashes"]]


def _internal(given):
    ly, p, t = make(manual_sessions=True, require_consent=True, consents=given)
    ok = ly.events.record("[CLY]_view", segmentation={"name": "v"})
    return ok, events(sent(ly, t), "[CLY]_view")


def test_internal_event_example_1_events_without_views_not_recorded():
    ok, ev = _internal(["events"])
    assert ok is False and ev == []


def test_internal_event_example_2_events_and_views_recorded():
    ok, ev = _internal(["events", "views"])
    assert ok and len(ev) == 1


def test_internal_event_example_3_views_without_events_recorded():
    ok, ev = _internal(["views"])
    assert ok and len(ev) == 1


def test_removing_sessions_ends_session_and_giving_begins_it():
    ly, p, t = make(require_consent=True, consents=[Consent.SESSIONS])
    p.advance(5000)
    ly.consent.remove(Consent.SESSIONS)
    assert not ly.sessions.active
    ly.consent.give(Consent.SESSIONS)
    assert ly.sessions.active
    kinds = [("begin" if "begin_session" in r else "end" if "end_session" in r else "consent")
             for r in sent(ly, t)]
    assert kinds == ["consent", "begin", "end", "consent", "consent", "begin"]


def test_removing_views_ends_open_view_and_events_flushed():
    ly, p, t = make(manual_sessions=True, require_consent=True,
                    consents=[Consent.VIEWS, Consent.EVENTS])
    ly.events.record("kept")
    ly.views.start("a")
    ly.consent.remove(Consent.VIEWS, Consent.EVENTS)
    assert ly.events.record("dropped") is False
    ev = events(sent(ly, t))
    assert [e["key"] for e in ev] == ["kept", "[CLY]_view", "[CLY]_view"]
    assert "dur" in ev[2]


def test_bad_names_never_raise():
    ly, p, t = make(require_consent=True, consent_groups={"loop": ["loop"]})
    assert ly.consent.give(None, 5, {"x": 1}, "unknown", "loop") is True
    assert ly.consent.has(None) is False and ly.consent.has("unknown") is False
    assert ly.consent.give_all() and ly.consent.has(Consent.APM)
    assert ly.consent.remove_all() and not ly.consent.has(Consent.EVENTS)
