# test_clock.py - time before the clock is valid, and sessions across deep sleep.
# A board boots with no wall clock: what it records then must reach the server with its true
# time once NTP syncs in the same boot, or with no client time at all, never as 2000-01-01.

from fakes import T0, FakePlatform, ScriptedTransport

from countly_mp.clock import Clock
from countly_mp.config import Config
from countly_mp.countly import Countly

URL = "http://127.0.0.1:9"


def make(p, **opts):
    opts.setdefault("device_id", "dev1")
    opts.setdefault("session_update_interval", 3600)
    return Countly(Config(URL, "APPKEY", **opts), platform=p)


def events_of(t, i):
    return t.param(i, "events")


def test_hour_and_dow_are_integer_arithmetic():
    c = Clock(FakePlatform())
    assert c.hour_dow(T0, 0) == (22, 2)
    assert c.hour_dow(T0, 120) == (0, 3)  # UTC+2: past midnight, Wednesday
    assert c.hour_dow(0, 0) == (0, 4)  # 1970-01-01 was a Thursday
    assert c.hour_dow(T0 + 4 * 86400000, 0) == (22, 6)


def test_unique_increasing_timestamps():
    p = FakePlatform()
    c = Clock(p)
    assert [c.now_ms() for _ in range(3)] == [T0, T0 + 1, T0 + 2]
    p.advance(10)
    assert c.now_ms() == T0 + 10


def test_records_before_sync_are_retimed_in_the_same_boot():
    t = ScriptedTransport()
    p = FakePlatform(transport=t, epoch_ms=None)
    ly = make(p)  # begin_session at ticks 0, no valid clock
    p.advance(1000)
    ly.events.record("early")  # ticks 1000
    p.advance(4000)
    ly.tick()
    assert t.sent == []  # waits for the clock rather than sending without time
    p.now = T0  # NTP: ticks 5000 is T0
    p.advance(10)
    ly.events.record("late")
    assert ly.flush() == 2
    assert t.param(0, "timestamp") == str(T0 - 5000)
    assert t.param(0, "hour") == "22" and t.param(0, "dow") == "2"
    names = [k for k, _ in t.params(0)]
    assert names[:8] == ["app_key", "device_id", "timestamp", "hour", "dow", "tz", "sdk_name",
                         "sdk_version"]
    ev = events_of(t, 1)
    assert '{"key":"early","count":1,"timestamp":%d,"hour":22,"dow":2}' % (T0 - 4000) in ev
    assert '{"key":"late","count":1,"timestamp":%d,"hour":22,"dow":2}' % (T0 + 10) in ev
    assert "U" not in ev


def test_retry_of_a_retimed_request_is_byte_identical():
    t = ScriptedTransport([(500, None, b""), (200, None, b'{"result":"Success"}')])
    p = FakePlatform(transport=t, epoch_ms=None)
    ly = make(p, retry_cooldown=1)
    p.advance(2000)
    p.now = T0
    ly.tick()
    p.now += 50000  # the wall clock moves on (and could even be stepped by NTP again)
    p.advance(50000)
    ly.tick()
    assert len(t.sent) == 2
    strip = [[kv for kv in t.params(i) if kv[0] != "rr"] for i in range(2)]
    assert strip[0] == strip[1] and t.param(1, "timestamp") == str(T0 - 2000)


def test_records_of_a_boot_that_never_synced_go_without_client_time():
    p = FakePlatform(epoch_ms=None)
    ly = make(p, manual_sessions=True)
    ly.events.record("orphan")
    ly.sessions.begin()
    t = ScriptedTransport()
    later = FakePlatform(root=p.root, transport=t)  # the next boot has a valid clock
    ly2 = make(later, manual_sessions=True)
    assert ly2.flush() == 2
    assert t.param(0, "begin_session") == "1" and t.param(0, "timestamp") is None
    assert t.param(0, "hour") is None and t.param(0, "tz") == "0"
    assert t.param(1, "events") == '[{"key":"orphan","count":1}]'


def test_never_synced_clock_sends_after_the_grace_period():
    t = ScriptedTransport()
    p = FakePlatform(transport=t, epoch_ms=None)
    ly = make(p)
    p.advance(59999)
    ly.tick()
    assert t.sent == []
    p.advance(1)
    ly.tick()
    assert len(t.sent) == 1 and t.param(0, "timestamp") is None


class SleepyPlatform(FakePlatform):
    # RTC memory survives deep sleep; ticks restart from 0 at every wake.
    def __init__(self, root=None, transport=None, epoch_ms=T0, woke=False, memory=None):
        FakePlatform.__init__(self, root=root, transport=transport, epoch_ms=epoch_ms)
        self.woke = woke
        self.memory = memory if memory is not None else RtcMemory()

    def woke_from_sleep(self):
        return self.woke

    def session_memory(self):
        return self.memory


class RtcMemory:
    def __init__(self):
        self.data = b""

    def read(self):
        return self.data

    def write(self, data):
        self.data = bytes(data)


def test_deep_sleep_wake_continues_the_session():
    t = ScriptedTransport()
    p = SleepyPlatform(transport=t)
    ly = make(p, session_update_interval=60)
    p.advance(30000)
    ly.flush()  # begin_session delivered; then the board deep-sleeps (no stop())
    mem = p.memory
    woke = SleepyPlatform(root=p.root, transport=t, epoch_ms=T0 + 40000, woke=True, memory=mem)
    ly2 = make(woke, session_update_interval=60)
    assert ly2.pending() == 0  # no second begin_session
    woke.advance(19999)
    ly2.tick()
    assert len(t.sent) == 1
    woke.advance(1)
    ly2.tick()  # 40 s before the wake + 20 s after it
    assert len(t.sent) == 2 and t.param(1, "session_duration") == "60"
    ly2.stop()
    ly2.flush()
    assert t.param(2, "end_session") == "1"
    fresh = SleepyPlatform(root=p.root, transport=t, epoch_ms=T0 + 90000, woke=True, memory=mem)
    make(fresh)  # the session was ended: a wake now starts a new one
    assert fresh.memory.data.startswith(b"1 ")


def test_power_on_reset_starts_a_new_session():
    t = ScriptedTransport()
    p = SleepyPlatform(transport=t)
    make(p)
    again = SleepyPlatform(root=p.root, transport=t, woke=False, memory=p.memory)
    ly = make(again)
    ly.flush()
    assert [t.param(i, "begin_session") for i in range(len(t.sent))] == ["1", "1"]
