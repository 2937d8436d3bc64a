# test_device_id.py - the guide's init truth table, ID change with and without merge, and the
# temporary ID mode end to end. Runs under pytest and under `micropython -X heapsize=128k`.

import json

from fakes import FakePlatform, ScriptedTransport
from featkit import URL, events, make, sent

from countly_mp.config import Config
from countly_mp.countly import Countly
from countly_mp.device_id import TEMP_ID, DeviceIdType

GEN, DEV, TMP = DeviceIdType.SDK_GENERATED, DeviceIdType.DEVELOPER_SUPPLIED, "TEMP"

# (stored, provided at init, expected without the clear flag, expected with it)
# stored: None (first init), "stored" (a non-temporary ID), TMP (stored temporary mode)
# provided: "" nothing, "custom", "temp", "custom+temp"
TABLE = (
    (None, "", GEN, GEN), (None, "custom", "custom", "custom"), (None, "temp", TMP, TMP),
    (None, "custom+temp", "custom", "custom"),
    ("stored", "", "stored", GEN), ("stored", "custom", "stored", "custom"),
    ("stored", "temp", "stored", TMP), ("stored", "custom+temp", "stored", "custom"),
    (TMP, "", TMP, GEN), (TMP, "custom", "custom", "custom"), (TMP, "temp", TMP, TMP),
    (TMP, "custom+temp", "custom", "custom"),
)


def boot(root, provided, clear):
    opts = {"manual_sessions": True, "clear_stored_device_id": clear}
    if "custom" in provided:
        opts["device_id"] = "custom"
    if "temp" in provided:
        opts["temporary_device_id"] = True
    return Countly(Config(URL, "K", **opts), platform=FakePlatform(root=root))


def _rows(stored_state):
    for stored, provided, plain, cleared in TABLE:
        if stored != stored_state:
            continue
        for clear, want in ((False, plain), (True, cleared)):
            root = FakePlatform().root
            if stored == "stored":
                boot(root, "custom", False).device_id.change("stored")
            elif stored == TMP:
                boot(root, "temp", False)
            ly = boot(root, provided, clear)
            got_id, got_type = ly.device_id.get(), ly.device_id.type()
            row = (stored, provided, clear, got_id, got_type)
            if want == GEN:
                assert got_id.startswith("generated-") and got_type == GEN, row
            elif want == TMP:
                assert got_id == TEMP_ID and got_type == DeviceIdType.TEMPORARY_ID, row
            else:
                assert got_id == want and got_type == DEV, row
            again = Countly(Config(URL, "K", manual_sessions=True),
                            platform=FakePlatform(root=root))
            assert again.device_id.get() == got_id, row  # whatever was chosen is stored


# One test per stored state: four dozen SDK instances in one 128 KiB MicroPython process
# would measure heap fragmentation, not the truth table.
def test_init_truth_table_first_init():
    _rows(None)


def test_init_truth_table_stored_id():
    _rows("stored")


def test_init_truth_table_stored_temporary_mode():
    _rows(TMP)


def test_change_without_merge():
    ly, p, t = make(event_queue_threshold=10)
    ly.events.record("old-event")
    ly.events.start("timed")
    p.advance(3000)
    assert ly.device_id.change("dev2")
    assert ly.device_id.type() == DeviceIdType.DEVELOPER_SUPPLIED
    assert ly.events.end("timed") is False  # timed events were cleared
    ly.events.record("new-event")
    reqs = sent(ly, t)
    got = [(r["device_id"], "begin" if "begin_session" in r else "end" if "end_session" in r
            else json.loads(r["events"])[0]["key"]) for r in reqs]
    assert got == [("dev1", "begin"), ("dev1", "old-event"), ("dev1", "end"), ("dev2", "begin"),
                   ("dev2", "new-event")]
    assert "old_device_id" not in "".join(str(r) for r in reqs)
    again = Countly(Config(URL, "APPKEY", manual_sessions=True),
                    platform=FakePlatform(root=p.root))
    assert again.device_id.get() == "dev2"


def test_change_with_merge():
    ly, p, t = make(event_queue_threshold=10)
    ly.events.record("before")
    ly.events.start("timed")
    assert ly.device_id.change("user-1", merge=True)
    assert ly.events.end("timed")  # no session restart, timed events kept
    reqs = sent(ly, t)
    assert [r["device_id"] for r in reqs] == ["dev1", "dev1", "user-1", "user-1"]
    assert "events" in reqs[1] and reqs[2]["old_device_id"] == "dev1"
    assert not [r for r in reqs if "end_session" in r]


def test_same_or_invalid_id_ignored():
    ly, p, t = make(manual_sessions=True)
    for bad in ("dev1", "", "  ", None, 5, ["x"]):
        assert ly.device_id.change(bad) is False
        assert ly.device_id.change(bad, merge=True) is False
    assert ly.device_id.get() == "dev1" and sent(ly, t) == []


def test_temporary_mode_holds_requests_then_sends_under_real_id():
    t = ScriptedTransport()
    p = FakePlatform(transport=t)
    ly = Countly(Config(URL, "APPKEY", temporary_device_id=True, event_queue_threshold=1),
                 platform=p)
    assert ly.device_id.type() == DeviceIdType.TEMPORARY_ID
    ly.events.record("held")
    assert ly.flush() == 0 and t.sent == [] and ly.pending() == 2
    assert ly.device_id.change("real-1")
    assert ly.device_id.type() == DeviceIdType.DEVELOPER_SUPPLIED
    ly.events.record("after")
    assert ly.flush() == 3
    assert [t.param(i, "device_id") for i in range(3)] == ["real-1"] * 3
    assert t.param(0, "begin_session") == "1"
    assert [e["key"] for e in events(sent(ly, t))] == ["held", "after"]


def test_enable_temporary_ends_session_and_holds():
    ly, p, t = make()
    assert ly.device_id.enable_temporary()
    assert ly.device_id.get() == TEMP_ID
    assert ly.flush() == 0 and ly.pending() == 3  # nothing leaves in temporary mode
    ly.device_id.change("back", merge=True)  # leaving temporary mode: no merge request
    reqs = sent(ly, t)
    assert [r["device_id"] for r in reqs] == ["dev1", "dev1", "back"]
    assert "end_session" in reqs[1] and "begin_session" in reqs[2]
    assert len(reqs) == 3 and "old_device_id" not in reqs[2]
