# test_clock_boots.py - time across boots and deep sleep, with the port hooks an ESP32 gives:
# the anchor of a boot that synced late dates its records in a later boot; sending waits while
# the port says a sync is under way; an NTP attempt is the tick's one exchange; with ca_data no
# request goes out before the clock is valid; a session carries the time asleep on the port's
# sleep clock, and keeps its state on flash when RTC memory cannot hold it alone.
# Runs under pytest and under `micropython -X heapsize=128k`.

from fakes import T0, FakePlatform, ScriptedTransport

from countly_mp.config import Config
from countly_mp.countly import Countly

URL = "http://127.0.0.1:9"


class Board(FakePlatform):
    # FakePlatform plus the ESP32 port's optional hooks, driven by hand: ticks restart from 0
    # at every boot, sleep_ms keeps counting through deep sleep, RTC memory survives it.
    def __init__(self, root=None, transport=None, epoch_ms=None, woke=False, slept=0,
                 memory=None, pending=False):
        FakePlatform.__init__(self, root=root, transport=transport, epoch_ms=epoch_ms)
        self.woke = woke
        self.slept = slept  # sleep clock at this boot's ticks 0
        self.memory = memory
        self.pending = pending
        self.ntp = None  # ms the next service() spends on an NTP query, None: no query
        self.printed = []  # lines the SDK printed (with logging off: its notices)

    def log_sink(self, level, line):
        self.printed.append(line)

    def woke_from_sleep(self):
        return self.woke

    def session_memory(self):
        return self.memory

    def sleep_ms(self):
        return self.slept + self.t

    def sync_pending(self):
        return self.pending

    def service(self):
        if self.ntp is None:
            return False
        self.advance(self.ntp)
        self.ntp = None
        return True


class Slot:
    # An RTC memory slot: write() -> True when it alone keeps the data, False when the core
    # must keep a flash copy too (the ESP32 port's answer until the slot survived a wake).
    def __init__(self, trusted=True):
        self.data = b""
        self.trusted = trusted
        self.writes = 0

    def read(self):
        return self.data

    def write(self, data):
        self.data = bytes(data)
        self.writes += 1
        return self.trusted


def make(p, **opts):
    opts.setdefault("device_id", "dev1")
    return Countly(Config(opts.pop("url", URL), "APPKEY", **opts), platform=p)


def events(t, i):
    import json

    return json.loads(t.param(i, "events"))


def test_a_boot_that_synced_late_dates_its_records_after_a_reboot():
    # Boot 1: records before NTP, NTP syncs, the server cannot be reached, the board resets.
    p = Board(epoch_ms=None, transport=ScriptedTransport([OSError(113, "unreachable")] * 9))
    ly = make(p, manual_sessions=True, event_queue_threshold=1)
    p.advance(1500)
    assert ly.events.record("before-sync")  # ticks 1500, no wall clock
    p.advance(500)
    p.now = T0 + 2000  # NTP: ticks 2000 is T0 + 2000, so the event happened at T0 + 1500
    p.online = False
    ly.tick()  # the anchor goes to flash
    # Boot 2: ticks count from 0 again, the clock is valid from the start, the server is back.
    t = ScriptedTransport()
    p2 = Board(root=p.root, epoch_ms=T0 + 90000, transport=t)
    ly2 = make(p2, manual_sessions=True)
    assert ly2.flush() == 1
    e = events(t, 0)[0]
    assert e["key"] == "before-sync" and e["timestamp"] == T0 + 1500


def test_anchors_kept_for_the_sixteen_newest_boots_that_needed_one():
    root = FakePlatform().root
    first = None
    for boot in range(17):
        p = Board(root=root, epoch_ms=None)
        ly = make(p, manual_sessions=True, event_queue_threshold=1)
        p.advance(100)
        ly.events.record("e%d" % boot)
        p.now = T0 + boot * 1000
        p.online = False
        ly.tick()
        first = first or ly.clock.boot
    kept = ly.store.read_checked("anchors").decode().split("\n")
    assert len(kept) == 16 and not [x for x in kept if x.startswith(first + " ")]


def test_sending_waits_while_the_port_says_a_sync_is_under_way():
    t = ScriptedTransport()
    p = Board(epoch_ms=None, transport=t, pending=True)
    ly = make(p)
    p.advance(120000)  # past the 60 s grace: without the port's word it would send undated
    ly.tick()
    assert t.sent == []
    p.now = T0 + 120000  # the NTP retry succeeds
    ly.tick()
    assert len(t.sent) == 1 and t.param(0, "begin_session") == "1"
    assert t.param(0, "timestamp") == str(T0)  # dated at init, ticks 0


def test_when_the_port_gives_up_on_a_sync_the_requests_go_undated():
    t = ScriptedTransport()
    p = Board(epoch_ms=None, transport=t, pending=True)
    ly = make(p)
    p.advance(400000)
    ly.tick()
    assert t.sent == []
    p.pending = False  # the port's bound on waiting for NTP passed
    ly.tick()
    assert len(t.sent) == 1 and t.param(0, "timestamp") is None


def test_an_ntp_query_is_the_ticks_one_exchange():
    t = ScriptedTransport()
    p = Board(epoch_ms=T0, transport=t)
    ly = make(p)
    p.ntp = 1000
    assert ly.tick() is None and t.sent == []  # the port used the network: no HTTP now
    assert ly.tick() is True and len(t.sent) == 1


def test_with_ca_data_nothing_is_sent_before_the_clock_is_valid():
    t = ScriptedTransport()
    p = Board(epoch_ms=None, transport=t)
    ly = make(p, url="https://countly.example.com", ca_data=b"-----BEGIN CERTIFICATE-----",
              session_update_interval=7200)
    p.advance(3600000)  # an hour without NTP
    ly.tick()
    ly.flush()
    assert t.sent == [] and ly.pending() == 1
    said = [x for x in p.printed if "certificate check needs the date" in x]
    assert len(said) == 1  # printed once with logging off, not at every tick
    p.now = T0 + 3600000
    assert ly.flush() == 1 and t.param(0, "timestamp") == str(T0)


def test_a_session_counts_the_time_asleep_when_the_clock_was_never_set():
    # 188 s of session: 100 s awake (last report at 90 s, clock unset), 30 s asleep, 58 s
    # awake after the wake, then the session ends: 90 + 98 = 188 s reported in all.
    t = ScriptedTransport()
    mem = Slot()
    p = Board(epoch_ms=None, transport=t, memory=mem)
    ly = make(p, session_update_interval=90)
    p.advance(90000)
    ly.tick()  # session update at 90 s (the clock grace has passed: sent undated)
    p.advance(10000)  # 10 s more awake, then deep sleep for 30 s
    woke = Board(root=p.root, epoch_ms=None, transport=t, woke=True,
                 slept=p.sleep_ms() + 30000, memory=mem)
    ly2 = make(woke, session_update_interval=90)
    woke.advance(58000)
    ly2.stop()
    woke.advance(5000)  # past this boot's clock grace: what is queued goes, undated
    ly2.flush()
    durations = [int(t.param(i, "session_duration")) for i in range(len(t.sent))
                 if t.param(i, "session_duration") is not None]
    assert sum(durations) == 188 and len([i for i in range(len(t.sent))
                                          if t.param(i, "begin_session")]) == 1


def test_session_state_kept_on_flash_while_rtc_memory_is_not_trusted():
    # The slot asks for a flash copy (the app may overwrite RTC memory before sleeping): the
    # session continues from flash when the slot is found empty or foreign after the wake.
    t = ScriptedTransport()
    mem = Slot(trusted=False)
    p = Board(epoch_ms=T0, transport=t, memory=mem)
    ly = make(p, session_update_interval=60)
    p.advance(60000)
    ly.tick()
    mem.data = b"app's own bytes"  # the app wrote RTC memory directly before deep sleep
    mem.data = b""  # and the port answers "not ours": empty
    woke = Board(root=p.root, epoch_ms=T0 + 70000, transport=t, woke=True, memory=mem)
    ly2 = make(woke, session_update_interval=60)
    ly2.flush()
    begins = [i for i in range(len(t.sent)) if t.param(i, "begin_session")]
    assert len(begins) == 1  # continued, not a second session
    assert ly2.sessions.active
