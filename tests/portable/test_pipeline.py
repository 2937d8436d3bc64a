# test_pipeline.py - record -> flash queue -> send, with a fake clock and a scripted server.
# Runs under pytest and under `micropython -X heapsize=128k`. Each test asserts the exact
# requests that left the SDK.

from fakes import T0, FakePlatform, ScriptedTransport

from countly_mp.config import Config
from countly_mp.countly import Countly

URL = "http://127.0.0.1:9"
OK = (200, None, b'{"result":"Success"}')


def make(answers=None, root=None, **opts):
    t = ScriptedTransport(answers)
    p = FakePlatform(root=root, transport=t)
    opts.setdefault("device_id", "dev1")
    opts.setdefault("retry_cooldown", 60)
    opts.setdefault("session_update_interval", 3600)  # tests that time sessions set their own
    ly = Countly(Config(URL, "APPKEY", **opts), platform=p)
    return ly, p, t


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
    assert ly.pending() == 0
    ly.events.record("c")
    assert ly.pending() == 1  # three events -> one request
    ly.events.record("d")
    p.advance(29999)
    ly.tick()  # sends the a,b,c request; d waits for the interval
    assert ly.pending() == 0 and len(t.sent) == 1
    p.advance(1)
    ly.tick()
    assert len(t.sent) == 2
    ev0 = t.param(0, "events")
    assert ev0.startswith('[{"key":"a","count":1,"timestamp":%d,"hour":22,"dow":2}' % T0)
    assert '{"key":"b","count":2,"sum":1.5,"segmentation":{"k":"v"},' in ev0
    assert t.param(1, "events").startswith('[{"key":"d",')


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


def test_retry_classes_and_cooldown():
    answers = [(500, None, b'{"result":"boom"}'), OSError(111), (408, None, b""),
               (200, None, b"<html>ok</html>"), (200, None, b'["result"]'), OK]
    ly, p, t = make(answers=answers, retry_cooldown=60, session_update_interval=3600)
    for _ in range(5):
        ly.tick()  # one failed exchange, then cooling down: no second exchange
        ly.tick()
        p.advance(59999)
        ly.tick()
        p.advance(1)
    assert len(t.sent) == 5 and ly.pending() == 1
    ly.tick()
    assert ly.pending() == 0 and len(t.sent) == 6
    # every retry is the same request: identical but for rr (and the checksum)
    first = [kv for kv in t.params(0) if kv[0] != "rr"]
    assert all([kv for kv in t.params(i) if kv[0] != "rr"] == first for i in range(6))
    assert ly.sender.stats["retried"] == 5 and ly.sender.stats["delivered"] == 1


def test_retry_after_is_a_floor():
    ly, p, t = make(answers=[(429, 120, b'{"result":"slow down"}')], retry_cooldown=60)
    ly.tick()
    p.advance(119999)
    ly.tick()
    assert len(t.sent) == 1
    p.advance(1)
    ly.tick()
    assert len(t.sent) == 2 and ly.pending() == 0
    ly2, p2, t2 = make(answers=[(503, 5, b"")], retry_cooldown=60)
    ly2.tick()
    p2.advance(59999)
    ly2.tick()
    assert len(t2.sent) == 1  # a shorter Retry-After never shortens the cooldown


def test_pause_on_checksum_rejection_and_config_problems_keeps_queue():
    for answer in [(200, None, b'{"result":"Request does not match checksum"}'),
                   (200, None, b'{"result":"Request does not have checksum"}'),
                   (400, None, b'{"result":"App does not exist"}'),
                   (400, None, b'{"result":"App is currently not accepting data"}'),
                   (400, None,
                    b'{"result":"Missing parameter \\"app_key\\" or \\"device_id\\""}')]:
        ly, p, t = make(answers=[answer], retry_cooldown=60, session_update_interval=3600)
        ly.tick()
        p.advance(60000 * 9)
        ly.tick()
        assert len(t.sent) == 1 and ly.pending() == 1, answer
        assert ly.sender.stats["paused"] == 1
        p.advance(60000 * 10)
        ly.tick()
        assert len(t.sent) == 2 and ly.pending() == 0


def test_other_4xx_drops_that_request_only_and_order_holds():
    ly, p, t = make(answers=[(404, None, b'{"result":"Invalid path"}')], manual_sessions=True,
                    event_queue_threshold=1)
    for k in ("one", "two", "three"):
        ly.events.record(k)
    assert ly.flush() == 2
    assert ly.sender.stats["dropped"] == 1 and ly.pending() == 0 and len(t.sent) == 3
    assert t.param(0, "events").startswith('[{"key":"one"')
    assert t.param(1, "events").startswith('[{"key":"two"')
    assert t.param(2, "events").startswith('[{"key":"three"')


def test_offline_port_sends_nothing():
    ly, p, t = make()
    p.online = False
    ly.tick()
    assert t.sent == [] and ly.pending() == 1
    p.online = True
    ly.tick()
    assert len(t.sent) == 1


def test_queue_cap_keeps_exactly_n_and_counts_drops():
    ly, p, t = make(manual_sessions=True, event_queue_threshold=1, request_queue_size=5)
    for i in range(8):
        ly.events.record("e%d" % i)
    assert ly.pending() == 5
    assert ly.request_queue.dropped == 3
    ly.flush()
    assert [t.param(i, "events")[9:11] for i in range(5)] == ["e3", "e4", "e5", "e6", "e7"]


def test_restart_delivers_what_the_first_process_queued_once():
    ly, p, t = make(manual_sessions=True, event_queue_threshold=1)
    for i in range(4):
        ly.events.record("r%d" % i)
    ly.events.record("waiting", count=1)  # threshold 1: queued as its own request
    t.answers = [OK, OK]
    ly.tick()
    ly.tick()  # two delivered, three left; then the process dies without stop()
    ly2, p2, t2 = make(root=p.root, manual_sessions=True)
    assert ly2.pending() == 3
    assert ly2.flush() == 3
    sent = [t.param(i, "events")[9:11] for i in range(2)]
    sent += [t2.param(i, "events")[9:11] for i in range(3)]
    assert sent == ["r0", "r1", "r2", "r3", "wa"]


def test_events_survive_restart_before_batching():
    ly, p, t = make(manual_sessions=True, event_queue_threshold=10)
    ly.events.record("kept")
    ly2, p2, t2 = make(root=p.root, manual_sessions=True)
    assert ly2.flush() == 1
    assert t2.param(0, "events").startswith('[{"key":"kept"')


def test_cut_between_batch_request_and_event_removal_is_repaired():
    ly, p, t = make(manual_sessions=True, event_queue_threshold=10)
    ly.events.record("once")
    # Simulate the cut: queue the batch request but skip removing the events.
    class PowerCut(Exception):
        pass

    def cut(seq):
        raise PowerCut()

    ly.event_queue.ack = cut
    try:
        ly.events.combine()
    except PowerCut:
        pass
    assert ly.pending() == 1 and len(ly.event_queue) == 1  # both hold the event now
    ly2, p2, t2 = make(root=p.root, manual_sessions=True)
    assert ly2.flush() == 1 and len(t2.sent) == 1


def test_storage_is_separate_per_app_key():
    ly, p, t = make(manual_sessions=True, event_queue_threshold=1)
    ly.events.record("a")
    t2 = ScriptedTransport()
    other = Countly(Config(URL, "OTHERKEY", device_id="d", manual_sessions=True),
                    platform=FakePlatform(root=p.root, transport=t2))
    assert other.pending() == 0 and ly.pending() == 1


def test_device_id_generated_persisted_and_developer_supplied():
    from countly_mp.device_id import DeviceIdType

    root = FakePlatform().root
    ly = Countly(Config(URL, "K", manual_sessions=True), platform=FakePlatform(root=root))
    assert ly.device_id.get() == "generated-1"
    assert ly.device_id.type() == DeviceIdType.SDK_GENERATED
    again = Countly(Config(URL, "K", manual_sessions=True), platform=FakePlatform(root=root))
    assert again.device_id.get() == "generated-1"
    dev = Countly(Config(URL, "K", device_id="mine", manual_sessions=True),
                  platform=FakePlatform(root=root))
    assert dev.device_id.get() == "generated-1"  # stored ID wins without the clear flag
    cleared = Countly(Config(URL, "K", device_id="mine", clear_stored_device_id=True,
                             manual_sessions=True), platform=FakePlatform(root=root))
    assert cleared.device_id.get() == "mine"
    assert cleared.device_id.type() == DeviceIdType.DEVELOPER_SUPPLIED


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
    assert '"key":"' + "k" * 128 + '","count":1' in ev and '"segmentation":{"ok":"v"}' in ev


def test_set_server_url_sends_queue_to_new_url():
    ly, p, t = make()
    assert ly.set_server_url("http://127.0.0.1:7/")
    ly.flush()
    assert t.sent[0][4] == "http://127.0.0.1:7"


def test_no_float_anywhere_in_time_values():
    ly, p, t = make()
    p.now = T0 + 123
    ly.events.record("t")
    ly.flush()
    assert '"timestamp":%d,' % (T0 + 123) in t.param(1, "events")
