# test_stored_events.py - events on flash hold their timestamp alone; hour and dow are added as
# the request is built. What that must not break: a segmentation key named "hour" (sized like
# any other event, never over the request budget), a retry after the UTC offset changed (the
# same bytes: the request's own tz is used), and a request set aside before its events were
# read (its events leave flash with it, so a restart never sends them). Also the deferred ack
# of delivered events: on a full flash they make room before anything waiting is dropped.
# Runs under pytest and under `micropython -X heapsize=128k`.

from collect import Collector
from featkit import make

from countly_mp import sender as sender_module


def test_a_segmentation_key_named_hour_is_sized_and_delivered():
    server = Collector(ids=150)  # reads each request in place, as the device sends it
    ly, p, t = make(transport=server, manual_sessions=True, event_queue_threshold=1000)
    for i in range(150):  # two requests' worth (each event is about 40 bytes encoded)
        assert ly.events.record("k", segmentation={"hour": 1, "id": i}), (i, ly.status())
    ly.flush()
    assert ly.sender.poisoned == 0 and ly.pending() == 0
    assert server.delivered_once(range(150)) == ([], []) and server.requests >= 2


def test_a_retry_after_the_offset_changed_is_byte_identical():
    ly, p, t = make([OSError(104, "reset")], manual_sessions=True, retry_cooldown=1)
    ly.events.record("x")
    ly.batcher.close()
    ly.flush()  # the server may have taken it; the answer was lost
    p.tz = 60  # the offset moves (daylight saving on a host)
    p.advance(5000)
    ly.flush()
    assert len(t.sent) == 2 and t.sent[0][1] == t.sent[1][1]
    assert '"hour":22,"dow":2}' in t.param(1, "events")  # tz 0 when it was queued


def test_a_request_set_aside_before_its_events_were_read_takes_them_along():
    ly, p, t = make(manual_sessions=True)
    ly.events.record("p1")
    ly.events.record("p2")
    ly.batcher.close()
    real = sender_module.Sender._fix

    def unbuildable(self, flags):
        sender_module.Sender._fix = real
        raise ValueError("unbuildable")

    sender_module.Sender._fix = unbuildable
    try:
        ly.flush()
    finally:
        sender_module.Sender._fix = real
    assert ly.sender.poisoned == 1 and len(ly.request_queue) == 0
    assert len(ly.event_queue) == 0
    ly2, p2, t2 = make(root=p.root, manual_sessions=True)
    ly2.flush()
    assert [t2.param(i, "events") for i in range(len(t2.sent))] == [None] * len(t2.sent)
