# test_loud.py - nothing fails silently: with logging off (the default), what stops delivery or
# loses data still prints one line per cause; status() tells code; a call that cannot deliver
# what it is given returns False; no public call or attribute raises, MemoryError included.
# Runs under pytest and under `micropython -X heapsize=128k`.

import sys

from collect import Collector
from console import AnswersOk, Sink
from fakes import FakePlatform, tmpdir

from countly_mp.config import Config
from countly_mp.countly import Countly

URL = "http://127.0.0.1:9"


def boot(platform=None, **opts):
    sink = Sink()
    p = platform or FakePlatform(transport=Collector())
    p.log_sink = sink
    ly = Countly(Config(URL, "APPKEY", **opts), platform=p)
    return ly, p, sink


class BrokenStorage(FakePlatform):
    def storage_root(self):
        raise OSError(30, "read-only file system")


class NoHttp(FakePlatform):
    def transport(self, *a):
        raise ImportError("no module named 'countly_http'")


def _inert(platform):
    ly, p, sink = boot(platform)
    assert not ly.ready and ly.status()["init_error"]
    assert len(sink.having("SDK inert")) == 1, sink.lines
    assert ly.events.record("e") is False and ly.events.record("f") is False
    assert ly.user.set("k", 1) is False and ly.user.save() is False
    assert ly.crashes.record_error("boom") is False
    assert ly.views.start("v") is None and ly.flush() == 0 and ly.pending() == 0
    assert ly.tick() is None
    assert len(sink.having("not recorded: SDK inert")) == 1  # once, however many calls


def test_inert_when_the_storage_path_is_a_file():
    root = tmpdir("file")
    with open(root + "/plain", "w") as f:
        f.write("x")
    _inert(FakePlatform(root=root + "/plain"))


def test_inert_when_storage_is_read_only():
    _inert(BrokenStorage())


def test_inert_when_the_http_client_is_missing():
    _inert(NoHttp())


def _no_memory():
    raise MemoryError("memory allocation failed")


def test_a_memory_error_anywhere_is_one_line_never_an_exception():
    ly, p, sink = boot(manual_sessions=True)
    p.metrics = _no_memory  # metrics() now fails: begin_session and crashes need them
    assert ly.sessions.begin() is False
    assert ly.crashes.record_error("boom") is False
    assert len(sink.having("out of memory")) == 1
    assert ly.events.record("still") is True  # what does not need the failing part goes on


class _Boom:
    def __getattr__(self, name):
        raise MemoryError("memory allocation failed, allocating 4096 bytes")


def test_a_feature_that_cannot_load_answers_none_and_says_so():
    sys.modules["countly_mp.views"] = _Boom()  # importing it "runs out of memory"
    try:
        ly, p, sink = boot()
        views = ly.views  # no exception
        assert views.start("v") is None and views.stop() is None
        assert len(sink.having("feature unavailable (MemoryError")) == 1
    finally:
        del sys.modules["countly_mp.views"]
    assert ly.views.start("v")  # the load is tried again once memory is back


def test_unbuilt_features_never_raise():
    ly, p, sink = boot()
    for name in ("remote_config", "feedback"):
        assert getattr(ly, name) is not None  # built or not, reading it never raises
    try:
        ly.no_such_feature  # noqa: B018 - the access is the test
        raised = False
    except AttributeError:
        raised = True
    assert raised  # a typo in the app is still a normal AttributeError


def test_pause_and_drop_print_once_per_cause_with_logging_off():
    ly, p, sink = boot()
    c = p.scripted
    c.answers = [(400, None, b'{"result":"App does not exist"}')]
    ly.tick()
    assert len(sink.having("delivery paused for 600 s: HTTP 400 App does not exist")) == 1
    st = ly.status()
    assert st["paused_for_ms"] == 600000 and "App does not exist" in st["paused_reason"]
    assert st["requests_waiting"] == 1 and st["dropped"] == 0
    p.advance(600000)
    c.answers = [(413, None, b""), (413, None, b"")]
    ly.events.record("a")
    ly.events.record("b")
    ly.batcher.close()
    ly.flush()
    assert len(sink.having("request dropped, the server will not take it")) == 1
    assert ly.status()["dropped"] == 2 and ly.status()["last_status"] == 413


def test_logging_true_prints_every_level():
    ly, p, sink = boot(logging=True, manual_sessions=True)
    ly.events.record("e")
    assert sink.having("[Events] record, key=[e]")


def test_unbounded_strings_are_refused_where_they_enter():
    for name in ("device_id", "app_version", "location_city", "location_country_code"):
        try:
            Config(URL, "APPKEY", **{name: "x" * 4000})
            refused = False
        except ValueError as e:
            refused = name in str(e)
        assert refused, name
    ly, p, sink = boot(manual_sessions=True)
    assert ly.device_id.change("u" * 3600) is False
    assert ly.device_id.get() != "u" * 3600 and sink.having("device ID must be")
    assert ly.device_id.change("u" * 256)  # the limit itself is fine
    assert ly.events.record("after") and ly.flush() == 1


def test_a_lone_surrogate_is_refused_on_cpython():
    if sys.implementation.name == "micropython":
        return  # MicroPython strings cannot hold one
    bad = "dev" + chr(0xD800)
    try:
        Config(URL, "APPKEY", device_id=bad)
        refused = False
    except ValueError:
        refused = True
    assert refused
    ly, p, sink = boot(manual_sessions=True)
    assert ly.device_id.change(bad) is False
    assert ly.events.record("ok") and ly.flush() == 1


def test_a_memory_error_in_atick_is_one_line_and_the_task_goes_on():
    import asyncio

    ly, p, sink = boot()
    p.async_transport = lambda *a: AnswersOk()
    ly.events.record("e")
    ly.batcher.close()   # the event is a request now
    before = ly.pending()
    real = ly.sender.finish

    def finish(*a):
        raise MemoryError("memory allocation failed, allocating 368 bytes")

    ly.sender.finish = finish
    assert asyncio.run(ly.atick()) is False   # nothing delivered, nothing raised
    assert len(sink.having("out of memory")) == 1 and ly.pending() == before
    ly.sender.finish = real
    assert asyncio.run(ly.atick()) is True    # the request was kept: sent on the next tick
    assert ly.pending() == before - 1


def test_a_ring_that_wraps_over_waiting_events_says_so_once():
    # A flash ring is a bounded buffer: when the events of a long outage outgrow it, the oldest
    # are dropped, counted, and one line says so.
    import fakes

    FakePlatform.queue, fakes.RING_BLOCKS = "ring", 16
    try:
        server = Collector()
        server.down = True
        ly, p, sink = boot(FakePlatform(transport=server))
        for i in range(1500):
            assert ly.events.record("reading", segmentation={"id": i, "room": "lab-2"}) is True
            if i % 50 == 0:
                ly.tick()
                p.advance(1000)
        st = ly.status()
        assert st["dropped"] > 0, st
        assert len(sink.having("event queue full")) == 1, sink.lines
    finally:
        FakePlatform.queue, fakes.RING_BLOCKS = None, 768
