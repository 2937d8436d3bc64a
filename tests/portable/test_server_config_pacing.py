# test_server_config_pacing.py - the send-path rules the server configuration tunes: the rest
# after a slow answer (bom, bom_at, bom_rqp, bom_ra, bom_d; on by default), dropping requests
# older than dort hours, and fetching the configuration again every scui hours.
# Runs under pytest and under `micropython -X heapsize=128k`.

from featkit import idle
from featkit import make


def boot(c, **opts):
    ly, p, t = make(manual_sessions=True, **opts)
    t.fixtures["sc"] = {"v": 2, "t": 1700000000000, "c": c}
    idle(ly, t)
    return ly, p, t


def slow(p, t, ms):
    # Every exchange takes `ms` on the fake clock.
    real = t.exchange

    def exchange(*a, **k):
        p.advance(ms)
        return real(*a, **k)

    t.exchange = exchange


def queue(ly, n):
    for i in range(n):
        ly.events.record("e%d" % i)
        ly.batcher.close()


def test_a_slow_answer_gets_the_server_a_rest_by_default():
    ly, p, t = boot({})
    queue(ly, 3)
    slow(p, t, 10000)  # the default bom_at: 10 s
    assert ly.tick() is True
    assert ly.tick() is None and ly.status()["paused_for_ms"] == 60000  # bom_d: 60 s
    p.advance(59999)
    assert ly.tick() is None
    p.advance(1)
    assert ly.tick() is True and len(t.sent) == 2
    assert ly.boms == 2


def test_the_server_tunes_the_backoff():
    ly, p, t = boot({"bom_at": 2, "bom_d": 5})
    queue(ly, 2)
    slow(p, t, 2000)
    assert ly.tick() is True and ly.status()["paused_for_ms"] == 5000


def test_the_server_turns_the_backoff_off():
    ly, p, t = boot({"bom": False})
    queue(ly, 2)
    slow(p, t, 30000)
    assert ly.tick() is True and ly.tick() is True


def test_no_rest_while_the_queue_is_long_or_the_request_old():
    ly, p, t = boot({"rqs": 4, "bom_rqp": 0.5, "bom_ra": 1})
    queue(ly, 4)  # 3 of 4 left after the first: more than half
    slow(p, t, 10000)
    assert ly.tick() is True and ly.tick() is True  # no rest: the queue must drain
    ly.flush()
    queue(ly, 1)
    p.advance(2 * 3600000)  # older than bom_ra
    assert ly.tick() is True and ly.status()["paused_for_ms"] == 0


def test_requests_older_than_dort_are_dropped_unsent():
    lines = []
    ly, p, t = boot({"dort": 1}, log_listener=lambda m, lv: lines.append(m))
    queue(ly, 2)
    p.advance(3600000 + 1000)
    queue(ly, 1)
    assert ly.flush() == 1
    assert [t.param(i, "events")[:12] for i in range(len(t.sent))] == ['[{"key":"e0"']
    st = ly.status()
    assert st["dropped"] == 2 and ly.pending() == 0
    assert len([x for x in lines if "older than 1 h dropped unsent" in x]) == 2


def test_the_configuration_is_fetched_again_every_scui_hours():
    ly, p, t = boot({"scui": 2})
    assert ly.jobs == ["sc@"]
    p.advance(2 * 3600000 - 1)
    assert idle(ly, t, 2).count("sc") == 1
    p.advance(1)
    assert idle(ly, t, 2).count("sc") == 2
    t.fixtures["sc"] = {"v": 2, "t": 1, "c": {}}  # the server stops asking
    p.advance(2 * 3600000)
    assert idle(ly, t, 2).count("sc") == 3 and ly.jobs == []
