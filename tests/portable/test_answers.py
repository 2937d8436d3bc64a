# test_answers.py - what each server answer does to the queue: retry with a growing cooldown,
# pause on a configuration problem, drop only what the server refuses for good.
# Runs under pytest and under `micropython -X heapsize=128k`. Each test asserts the exact
# requests that left the SDK.

from featkit import make


OK = (200, None, b'{"result":"Success"}')


def test_retry_classes_and_growing_cooldown():
    answers = [(500, None, b'{"result":"boom"}'), OSError(111), (408, None, b""),
               (200, None, b"<html>ok</html>"), (200, None, b'["result"]'),
               (400, None, b'{"result":"Could not ingest data"}'),
               (400, None, b'{"result":"Cannot get app user"}'), OK]
    ly, p, t = make(answers=answers)
    wait = 60000
    for _ in range(7):
        ly.tick()  # one failed exchange, then cooling down: no second exchange
        ly.tick()
        p.advance(wait - 1)
        ly.tick()
        p.advance(1)
        wait = min(wait * 2, 1800000)  # doubles, capped at 30 minutes
    assert len(t.sent) == 7
    ly.tick()
    assert len(t.sent) == 8
    # every retry is the same request (begin_session): identical but for rr
    first = [kv for kv in t.params(0) if kv[0] != "rr"]
    assert t.param(0, "begin_session") == "1"
    assert all([kv for kv in t.params(i) if kv[0] != "rr"] == first for i in range(8))
    st = ly.status()
    assert st["retried"] == 7 and st["delivered"] == 1 and st["dropped"] == 0
    # the session updates made meanwhile are all kept and follow in order
    waiting = ly.pending()
    assert waiting > 1 and ly.flush() == waiting and ly.pending() == 0


def test_retry_after_is_a_floor_and_capped():
    ly, p, t = make(answers=[(429, 120, b'{"result":"slow down"}')])
    ly.tick()
    p.advance(119999)
    ly.tick()
    assert len(t.sent) == 1
    p.advance(1)
    ly.tick()
    assert len(t.sent) == 2 and t.param(1, "begin_session") == "1"
    ly2, p2, t2 = make(answers=[(503, 5, b"")])
    ly2.tick()
    p2.advance(59999)
    ly2.tick()
    assert len(t2.sent) == 1  # a shorter Retry-After never shortens the cooldown
    ly3, p3, t3 = make(answers=[(429, 1000000000, b'{"result":"go away"}')])
    ly3.tick()
    assert ly3.flush() == 0 and len(t3.sent) == 1  # flush() respects the server's wish
    p3.advance(86400000 - 1)  # capped at a day
    ly3.tick()
    assert len(t3.sent) == 1
    p3.advance(1)
    ly3.tick()
    assert len(t3.sent) == 2 and t3.param(1, "begin_session") == "1"


def test_pause_on_config_problems_keeps_queue_and_says_why():
    for answer in [(200, None, b'{"result":"Request does not match checksum"}'),
                   (200, None, b'{"result":"Request does not have checksum"}'),
                   (400, None, b'{"result":"App does not exist"}'),
                   (400, None, b'{"result":"App is currently not accepting data"}'),
                   (400, None,
                    b'{"result":"Missing parameter \\"app_key\\" or \\"device_id\\""}'),
                   (404, None, b"<html>Not Found</html>"),
                   (404, None, b'{"result":"Invalid path"}'),
                   (405, None, b""), (401, None, b""), (403, None, b"forbidden"),
                   (302, None, b""), (400, None, b"<html>Bad Request</html>")]:
        lines = []
        ly, p, t = make(answers=[answer], log_listener=lambda m, lv, lines=lines: lines.append(m))
        ly.tick()
        assert ly.flush() == 0  # a pause holds flush() too
        p.advance(599999)
        ly.tick()
        assert len(t.sent) == 1, answer
        st = ly.status()
        assert st["paused_for_ms"] == 1 and st["paused_reason"] and st["dropped"] == 0, answer
        assert [x for x in lines if "delivery paused for 600 s" in x], answer
        p.advance(1)
        ly.tick()
        assert len(t.sent) == 2 and t.param(1, "begin_session") == "1"
        waiting = ly.pending()  # the session update made meanwhile is kept
        assert waiting == 1 and ly.flush() == waiting


def test_set_server_url_ends_a_pause():
    ly, p, t = make(answers=[(404, None, b"<html>Not Found</html>")])
    ly.tick()
    assert ly.status()["paused_for_ms"] > 0
    assert ly.set_server_url("http://127.0.0.1:8/")
    assert ly.flush() == 1 and ly.pending() == 0


def test_only_a_refusal_of_the_request_itself_drops_it_and_order_holds():
    ly, p, t = make(answers=[(413, None, b'{"result":"too big"}')] +
                    [(400, None, b'{"result":"Invalid request, key is missing"}')] * 3,
                    manual_sessions=True, event_queue_threshold=1)
    for k in ("one", "two", "three"):
        ly.events.record(k)
    assert ly.flush() == 0  # 413: dropped; the next one is refused with an unknown answer
    assert ly.flush() == 0  # retried: the server may have been in trouble
    assert ly.flush() == 1  # refused the third time: dropped; "three" delivered
    st = ly.status()
    assert st["dropped"] == 2 and ly.pending() == 0 and len(t.sent) == 5
    keys = [t.param(i, "events")[9:12] for i in range(5)]
    assert keys == ["one", "two", "two", "two", "thr"]
    assert len(ly.event_queue) == 0


def test_offline_port_sends_nothing():
    ly, p, t = make()
    p.online = False
    ly.tick()
    assert t.sent == [] and ly.pending() == 1
    p.online = True
    ly.tick()
    assert len(t.sent) == 1


def test_set_server_url_sends_queue_to_new_url():
    ly, p, t = make()
    assert ly.set_server_url("http://127.0.0.1:7/")
    ly.flush()
    assert t.sent[0][4] == "http://127.0.0.1:7"
