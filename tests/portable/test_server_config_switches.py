# test_server_config_switches.py - what the server configuration switches: tracking,
# networking (the configuration itself is still fetched), the consent-like switches of
# sessions, crashes, views, custom events and location (the user's consent state is not
# changed), consent required, logging.
# Runs under pytest and under `micropython -X heapsize=128k`.

import json

from featkit import idle
from featkit import events, make, only, sent


def boot(c, **opts):
    ly, p, t = make(**opts)
    t.fixtures["sc"] = {"v": 2, "t": 1700000000000, "c": c}
    idle(ly, t)
    return ly, p, t


def refetch(ly, t, c):
    from countly_mp import jobs

    t.fixtures["sc"] = {"v": 2, "t": 1700000000000, "c": c}
    jobs.add(ly, "sc")
    idle(ly, t)


def test_switched_off_features_record_nothing():
    ly, p, t = boot({"cet": False, "vt": False}, manual_sessions=True)
    assert ly.events.record("custom") is False
    assert ly.views.start("home") is None
    assert events(sent(ly, t)) == []


def test_internal_events_are_no_custom_events_and_switches_come_back():
    ly, p, t = boot({"cet": False}, manual_sessions=True)
    assert ly.views.start("home")
    assert [e["key"] for e in events(sent(ly, t))] == ["[CLY]_view"]
    refetch(ly, t, {})
    assert ly.events.record("custom")  # switched back on


def test_crash_reporting_switched_off():
    ly, p, t = boot({"crt": False}, manual_sessions=True)
    assert ly.crashes.record_error("boom") is False
    assert only(sent(ly, t), "crash") == []


def test_sessions_off_at_runtime_ends_the_session_and_at_init_begins_none():
    ly, p, t = boot({})
    assert ly.sessions.active
    p.advance(5000)
    refetch(ly, t, {"st": False})
    assert not ly.sessions.active
    reqs = sent(ly, t)
    assert only(reqs, "end_session")[0]["session_duration"] == "5"
    ly.stop()
    del ly, t
    ly2, p2, t2 = make(root=p.root)  # the stored copy: no session at init
    assert not ly2.sessions.active and ly2.pending() == 0


def test_location_off_tells_the_server_to_stop_locating():
    ly, p, t = boot({}, manual_sessions=True, location_city="Riga")
    refetch(ly, t, {"lt": False})
    reqs = sent(ly, t)
    assert only(reqs, "location")[-1]["location"] == ""


def test_switches_leave_the_users_consent_state_alone():
    ly, p, t = boot({"cet": False}, manual_sessions=True, require_consent=True,
                    consents=["events"])
    assert ly.events.record("custom") is False
    ly.consent.give("crashes")
    states = [json.loads(r["consent"]) for r in only(sent(ly, t), "consent")]
    assert states[-1]["events"] is True and states[-1]["crashes"] is True


def test_tracking_off_records_nothing_new_but_sends_what_is_queued():
    ly, p, t = make(manual_sessions=True)
    ly.events.record("before")
    ly.batcher.close()
    t.fixtures["sc"] = {"v": 2, "t": 1, "c": {"tracking": False}}
    from countly_mp import jobs

    jobs.add(ly, "sc")
    ly.tick()  # the queued request goes first
    idle(ly, t)
    assert ly.events.record("after") is False
    assert ly.sessions.begin() is False and ly.user.set("k", 1) is False
    assert [e["key"] for e in events(sent(ly, t))] == ["before"]


def test_networking_off_sends_nothing_but_the_configuration():
    ly, p, t = boot({"networking": False})
    assert len(t.sent) == 1  # begin_session, sent before the configuration arrived
    ly.events.record("e")
    ly.sessions.update_now()
    assert ly.flush() == 0 and len(t.sent) == 1 and ly.pending() == 2
    refetch(ly, t, {"networking": True})  # only a fresh configuration can turn it back on
    assert ly.flush() == 2 and ly.pending() == 0


def test_networking_off_stops_the_instant_requests_too():
    ly, p, t = boot({"networking": False}, manual_sessions=True)
    assert ly.remote_config.download_all() == "Error" and t.side_methods() == ["sc"]


def test_networking_off_is_stored_and_holds_from_the_next_init():
    ly, p, t = boot({})
    ly.stop()
    del ly, t
    ly2, p2, t2 = make(root=p.root)
    t2.fixtures["sc"] = {"v": 2, "t": 1, "c": {"networking": False}}
    assert idle(ly2, t2) == ["sc"]  # a stored "on" until the fresh "off" arrives
    ly2.stop()
    del ly2, t2
    ly3, p3, t3 = make(root=p.root)  # the stored "off" holds from init on
    t3.fixtures["sc"] = {"v": 2, "t": 1, "c": {"networking": False}}
    assert idle(ly3, t3) == ["sc"] and t3.sent == [] and ly3.pending() == 2  # end, begin


def test_consent_required_by_the_server():
    ly, p, t = boot({"cr": True}, manual_sessions=True)
    assert ly.config.require_consent is True
    assert ly.events.record("e") is False
    ly.consent.give("events")
    assert ly.events.record("e")


def test_logging_switched_on_by_the_server():
    ly, p, t = boot({"log": True}, manual_sessions=True)
    assert ly.log.console is True and ly.config.logging is True
    refetch(ly, t, {})
    assert ly.log.console is False
