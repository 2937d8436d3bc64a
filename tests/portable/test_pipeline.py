# test_pipeline.py - record -> flash queue -> send, with a fake clock and a scripted server.
# Runs under pytest and under `micropython -X heapsize=128k`. Each test asserts the exact
# requests that left the SDK.


from fakes import T0
from featkit import make




def names(t, i):
    return [k for k, _ in t.params(i)]


def test_base_params_in_fixed_order_then_rr():
    ly, p, t = make(app_version="1.2.3")
    assert ly.flush() == 1
    keys = names(t, 0)
    assert keys == ["app_key", "device_id", "timestamp", "hour", "dow", "tz", "sdk_name",
                    "sdk_version", "begin_session", "metrics", "rr"]
    assert t.param(0, "app_key") == "APPKEY" and t.param(0, "device_id") == "dev1"
    assert t.param(0, "timestamp") == str(T0)
    assert t.param(0, "hour") == "22" and t.param(0, "dow") == "2" and t.param(0, "tz") == "0"
    assert t.param(0, "sdk_name").endswith("-native-test")
    assert t.param(0, "sdk_version") == "26.1.0"
    assert t.param(0, "metrics") == (
        '{"_os":"TestOS","_os_version":"1.0","_device":"fake-board","_app_version":"1.2.3"}'
    ) or '"_app_version":"1.2.3"' in t.param(0, "metrics")
    assert t.param(0, "rr") == "1"
    assert t.sent[0][0] == "GET" and t.sent[0][1].startswith("/i?app_key=APPKEY&device_id=dev1&")


def test_timezone_shifts_hour_and_dow():
    ly, p, t = make(manual_sessions=True)
    p.tz = -300  # UTC-5: 17:13 on the same Tuesday
    ly.events.record("e")
    ly.flush()
    assert t.param(0, "tz") == "-300" and t.param(0, "hour") == "17" and t.param(0, "dow") == "2"


def test_checksum_last_and_verifiable():
    from countly_mp.compat import sha256_hex

    ly, p, t = make(salt="s3cr3t")
    ly.flush()
    query = t.sent[0][1].split("?", 1)[1]
    payload, digest = query.rsplit("&checksum256=", 1)
    assert digest == sha256_hex((payload + "s3cr3t").encode())
    assert payload.endswith("&rr=1")


def test_get_under_2000_else_post_and_force_post():
    ly, p, t = make(manual_sessions=True, event_queue_threshold=1)
    ly.events.record("small")
    ly.events.record("big", segmentation={"v": "x" * 250, "w": "y" * 250, "z": "é" * 250})
    ly.flush()
    assert t.sent[0][0] == "GET" and t.sent[0][2] is None
    assert t.sent[1][0] == "POST" and t.sent[1][1] == "/i"
    assert t.sent[1][3] == "application/x-www-form-urlencoded"
    assert len(t.sent[1][2]) >= 2000
    ly2, p2, t2 = make(manual_sessions=True, force_post=True)
    ly2.events.record("small")
    ly2.flush()
    assert t2.sent[0][0] == "POST" and t2.sent[0][1] == "/i"


def test_events_batch_at_threshold_and_on_interval():
    ly, p, t = make(manual_sessions=True, event_queue_threshold=3, event_flush_interval=30)
    ly.events.record("a")
    ly.events.record("b", count=2, sum=1.5, segmentation={"k": "v"})
    assert ly.pending() == 2 and len(ly.request_queue) == 0  # two events, no request yet
    ly.events.record("c")
    assert ly.pending() == 1 and len(ly.request_queue) == 1  # three events -> one request
    ly.events.record("d")
    p.advance(29999)
    ly.tick()  # sends the a,b,c request; d waits for the interval
    assert ly.pending() == 1 and len(t.sent) == 1
    p.advance(1)
    ly.tick()
    assert len(t.sent) == 2 and ly.pending() == 0
    ev0 = t.param(0, "events")
    assert ev0.startswith('[{"key":"a","count":1,"timestamp":%d,"hour":22,"dow":2}' % T0)
    assert '{"key":"b","count":2,"sum":1.5,"segmentation":{"k":"v"},' in ev0
    assert t.param(1, "events").startswith('[{"key":"d",')
    assert len(ly.event_queue) == 0  # delivered events leave the flash


def test_default_threshold_batches_close_at_the_budget_and_all_arrive():
    # Default Config: 100 events with a two-key segmentation do not fit one request; they are
    # split over as many as needed, each within the budget, none lost, order kept.
    from collect import Collector

    from countly_mp.request import REQUEST_MAX

    c = Collector()
    got = []
    c.on_event = lambda e: got.append(e["segmentation"]["id"])  # in arrival order
    sizes = []
    real = c.exchange

    def measure(method, path, body=None, content_type=None, max_body=None):
        sizes.append(len(body if body is not None else path))
        return real(method, path, body, content_type, max_body)

    c.exchange = measure
    ly, p, t = make(transport=c, manual_sessions=True)
    for i in range(100):
        assert ly.events.record("reading", sum=21.5, segmentation={"sensor": "bme280", "id": i})
    assert ly.flush() == len(sizes) and ly.pending() == 0 and len(ly.event_queue) == 0
    assert got == list(range(100)) and len(sizes) > 1
    assert max(sizes) <= REQUEST_MAX + 100


def test_timed_event_duration_in_seconds_from_ticks():
    ly, p, t = make(manual_sessions=True)
    assert ly.events.start("dl")
    assert not ly.events.start("dl")  # already started: ignored
    p.advance(1600)
    assert ly.events.end("dl", segmentation={"ok": True}, count=2, sum=3)
    assert not ly.events.end("dl")
    ly.events.start("x")
    assert ly.events.cancel("x") and not ly.events.cancel("x")
    ly.flush()
    ev = t.param(0, "events")
    assert '"key":"dl","count":2,"sum":3,"dur":1.600,"segmentation":{"ok":true}' in ev
    assert '"key":"x"' not in ev


def test_session_begin_update_end_timing():
    ly, p, t = make(session_update_interval=60)
    p.advance(59999)
    ly.tick()
    p.advance(1)
    ly.tick()  # the update is due now
    p.advance(12500)
    ly.stop()
    ly.flush()
    got = [(t.param(i, "begin_session"), t.param(i, "session_duration"), t.param(i, "end_session"))
           for i in range(len(t.sent))]
    assert got == [("1", None, None), (None, "60", None), (None, "12", "1")]


def test_manual_sessions_only_when_asked():
    ly, p, t = make(manual_sessions=True)
    assert ly.pending() == 0
    assert ly.sessions.begin() and not ly.sessions.begin()
    p.advance(5000)
    assert ly.sessions.update()
    p.advance(7000)
    assert ly.sessions.end() and not ly.sessions.end()
    ly.flush()
    assert [t.param(i, "session_duration") for i in range(3)] == [None, "5", "7"]
    ly2, _, _ = make()
    assert not ly2.sessions.begin()  # automatic sessions: manual calls are refused


def test_bad_input_never_raises():
    ly, p, t = make(manual_sessions=True)
    assert ly.events.record(None) is False
    assert ly.events.record("") is False
    assert ly.events.record(5) is False
    assert ly.events.record("k", count="x", sum="y", dur=-1, segmentation=[1]) is True
    assert ly.events.record("k" * 500, segmentation={1: 2, "n": float("nan"), "ok": "v"})
    assert ly.events.end(None) is False
    assert ly.set_server_url("nope") is False
    ly.flush()
    ev = t.param(0, "events")
    # keys are cut to 127: the server leaves keys of 128+ characters out of its totals
    assert '"key":"' + "k" * 127 + '","count":1' in ev and '"segmentation":{"ok":"v"}' in ev


def test_no_float_anywhere_in_time_values():
    ly, p, t = make()
    p.now = T0 + 123
    ly.events.record("t")
    ly.flush()
    assert '"timestamp":%d,' % (T0 + 123) in t.param(1, "events")
