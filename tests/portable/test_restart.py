# test_restart.py - what survives a restart: queued requests and events, claimed batches,
# cuts between the steps of a delivery, the device ID.
# Runs under pytest and under `micropython -X heapsize=128k`. Each test asserts the exact
# requests that left the SDK.

import json

from fakes import FakePlatform, ScriptedTransport
from featkit import URL, make

from countly_mp.config import Config
from countly_mp.countly import Countly

OK = (200, None, b'{"result":"Success"}')


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


def test_cut_between_event_removal_and_request_ack_sends_nothing_twice():
    ly, p, t = make(manual_sessions=True)
    ly.events.record("once")
    ly.batcher.close()
    # Simulate the cut: the events leave the event queue, then power goes before the request
    # is marked sent.
    class PowerCut(Exception):
        pass

    def cut(seq):
        raise PowerCut()

    ly.request_queue.ack = cut
    try:
        ly.flush()
    except PowerCut:
        pass
    assert len(t.sent) == 1 and len(ly.event_queue) == 0
    ly2, p2, t2 = make(root=p.root, manual_sessions=True)
    assert ly2.pending() == 1  # the request is still queued, its events are gone
    assert ly2.flush() == 0 and len(t2.sent) == 0 and ly2.pending() == 0


def test_cut_after_the_events_request_is_queued_claims_them_once():
    ly, p, t = make(manual_sessions=True)
    for k in ("a", "b"):
        ly.events.record(k)
    ly.batcher.close()  # the events request is on flash: a restart must not batch them again
    ly2, p2, t2 = make(root=p.root, manual_sessions=True)
    ly2.events.record("c")
    assert ly2.pending() == 2
    ly2.flush()
    assert [e["key"] for e in json.loads(t2.param(0, "events"))] == ["a", "b"]
    assert [e["key"] for e in json.loads(t2.param(1, "events"))] == ["c"]


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
