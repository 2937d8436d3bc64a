# test_health.py - the health check: error and warning lines, the last failed request's status
# and the first 1000 characters of its answer, persisted at the session update and end and at
# stop() (not at every change), sent once per start as an `hc` request to /i when the queue is
# first idle, cleared when the server took it, kept when it did not.
# Runs under pytest and under `micropython -X heapsize=128k` (one test at 144k:
# tests/heap_over_budget.txt).

import json

from featkit import idle
from featkit import make

from countly_mp.sessions import save_health
from countly_mp.config import Config


def health_requests(t):
    out = []
    for i in range(len(t.side)):
        hc = t.side_param(i, "hc")
        if hc is not None:
            out.append((json.loads(hc), json.loads(t.side_param(i, "metrics"))))
    return out


def stored(ly):
    raw = ly.store.read("hc")
    return None if raw is None else json.loads(raw.split(b"\n", 1)[1])


def test_sent_once_per_start_to_i_with_the_app_version():
    ly, p, t = make(app_version="2.5")
    idle(ly)
    assert health_requests(t) == [({"el": 0, "wl": 0, "sc": -1, "em": "", "bom": 0},
                                   {"_app_version": "2.5"})]
    i = [k for k in range(len(t.side)) if t.side_param(k, "hc")][0]
    assert t.side[i][1].startswith("/i?") and t.side_param(i, "device_id") == "dev1"
    ly.tick()
    idle(ly)
    assert len(health_requests(t)) == 1


def test_counted_in_the_run_persisted_only_at_the_save_points():
    ly, p, t = make(answers=[(500, None, b"E" * 1500)])
    idle(ly)  # begin_session fails with 500; the health check of this start has gone
    ly.log.e("Test", "fn", "an error line")
    ly.events.record(None)  # a warning
    assert stored(ly) is None  # not written at every change
    p.advance(60000)
    ly.tick()  # the session update: a save point
    hc = stored(ly)
    assert hc["el"] == 1 and hc["wl"] >= 2 and hc["sc"] == 500 and hc["em"] == "E" * 1000
    written = ly.store.read("hc")
    ly.sessions.update_now()
    assert ly.store.read("hc") == written  # nothing changed: nothing written


def test_the_next_start_sends_them_and_clears_them():
    ly, p, t = make(answers=[(503, None, b'{"result":"busy"}')])
    idle(ly)
    ly.stop()  # a save point
    before = stored(ly)
    assert before["sc"] == 503 and before["em"] == '{"result":"busy"}' and before["wl"] >= 1
    del ly, t
    ly2, p2, t2 = make(root=p.root)
    idle(ly2)
    assert health_requests(t2)[0][0] == before
    assert stored(ly2) is None  # the server took them
    ly2.stop()
    assert stored(ly2) is None


def test_kept_when_the_server_did_not_take_them():
    ly, p, t = make(answers=[(500, None, b"x")])
    idle(ly)
    ly.stop()
    del ly, t
    ly2, p2, t2 = make(root=p.root)
    t2.side_answers = [(200, None, b'{"v":2,"t":1,"c":{}}'), OSError(113, "down")]
    idle(ly2)
    assert ly2.jobs == ["hc"]  # to be tried again after the cooldown
    p2.advance(60000)
    t2.side_answers = [(500, None, b'{"result":"down"}')]
    idle(ly2)
    ly2.stop()
    hc = stored(ly2)
    assert hc["sc"] == 500 and hc["em"] == '{"result":"down"}'  # the failed hc itself


def test_a_wake_from_deep_sleep_with_nothing_to_report_sends_none():
    ly, p, t = make()
    p.woke_from_sleep = lambda: True
    idle(ly)
    assert health_requests(t) == []
    ly, p, t = make(answers=[(500, None, b"x")])
    idle(ly)
    ly.stop()
    del ly, t
    ly2, p2, t2 = make(root=p.root)
    p2.woke_from_sleep = lambda: True
    idle(ly2)
    assert health_requests(t2)[0][0]["sc"] == 500


def test_damaged_counters_are_said_and_restart_from_zero():
    ly, p, t = make(answers=[(500, None, b"x")])
    idle(ly)
    ly.stop()
    raw = ly.store.read("hc")
    ly.store.write("hc", raw[:-3] + b"}}}")
    del ly, t
    lines = []
    ly2, p2, t2 = make(root=p.root, log_listener=lambda m, lv: lines.append(m))
    idle(ly2)
    assert [x for x in lines if "health counters are damaged" in x]
    hc = health_requests(t2)[0][0]
    assert hc["sc"] == -1 and hc["el"] == 1  # the damage line itself is counted


def test_health_checks_cannot_be_turned_off():
    for name in ("health_checks", "health_check", "hc"):
        try:
            Config("http://127.0.0.1:9", "APPKEY", **{name: False})
            raise AssertionError(name)
        except ValueError:
            pass
    ly, p, t = make(server_config=False, manual_sessions=True)
    idle(ly)
    assert len(health_requests(t)) == 1


def test_an_answer_of_escaped_characters_is_cut_to_fit_the_request():
    # 600 quotes are 3600 bytes once JSON-escaped and percent-encoded: more than `em` may
    # take of a request. The health check keeps as much of it as fits, and still goes out.
    ly, p, t = make(manual_sessions=True, server_config=False,
                    answers=[(500, None, b'"' * 600)])
    ly.events.record("e")
    assert ly.flush() == 0  # 500: the last failed request
    save_health(ly)
    em = stored(ly)["em"]
    assert 200 < len(em) < 600 and em == '"' * len(em)
    p.advance(60000)  # the queue's retry cooldown: jobs wait for it
    idle(ly)  # the event, then this start's health check
    assert health_requests(t)[0][0]["em"] == em
