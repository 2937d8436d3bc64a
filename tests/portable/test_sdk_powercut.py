# test_sdk_powercut.py - the whole SDK under random power cuts on real LittleFS.
# A device records events (each becomes a request: event queue -> request queue) and sends
# them; the flash dies at a random device operation inside record, send or acknowledge. Then
# the board "reboots": a fresh filesystem on the same bytes and a new Countly on it. At the end
# the server's log must hold every event whose record() returned True, intact, in order, with
# at most one duplicate per cut, and that duplicate byte-identical to the first delivery.

import gc
import json

from fakes import FakePlatform, tmpdir
from ramblock import Disk
from xorshift import XorShift

from countly_mp.compat import sha256_hex
from countly_mp.config import Config
from countly_mp.countly import Countly
from countly_mp.wire import decode_params

CUTS = 250  # per run; four seeded runs make 1000 cuts per interpreter


class FlashPlatform(FakePlatform):
    def __init__(self, fs, root, transport):
        FakePlatform.__init__(self, root=root, transport=transport)
        self.fs = fs


class Server:
    # Accepts everything and checks each delivery as it arrives, in constant memory (a test
    # heap of 128 KiB cannot keep hundreds of requests): a delivery is either the previous one
    # again, byte-identical apart from rr (its answer was lost to a cut before the ack), or new
    # events, all later than any delivered before (order holds, nothing twice in two requests).
    def __init__(self):
        self.url = None
        self.last = None
        self.newest = -1
        self.delivered = bytearray(4096)
        self.requests = 0
        self.dupes = 0
        self.error = None  # the first broken rule: the SDK would swallow an exception

    def exchange(self, method, path, body=None, content_type=None, max_body=None):
        if max_body is not None:
            # The SDK's own instant requests (server configuration, health check): answered
            # as a server with nothing configured, outside the events bookkeeping.
            if str(path).startswith("/o/sdk"):
                return 200, None, b'{"v":2,"t":1700000000000,"c":{}}'
            return 200, None, b'{"result":"Success"}'
        try:
            return self._exchange(path if body is None else body)
        except AssertionError as e:
            if self.error is None:
                self.error = str(e)
            raise

    def _exchange(self, raw):
        if isinstance(raw, str):
            raw = raw.encode()
        raw = bytes(raw)  # a view of the SDK's send buffer: copied while it is valid
        raw = raw[: raw.find(b"&rr=")]
        digest = sha256_hex(raw)
        if digest == self.last:
            self.dupes += 1
            return 200, None, b'{"result":"Success"}'
        events = None
        for k, v in decode_params(raw[raw.find(b"?") + 1 :]):
            if k == "events":
                events = v
        got = []
        for e in json.loads(events):
            i = e["segmentation"]["i"]
            assert e["key"] == "e%d" % i, "corrupt event"
            got.append(i)
        # Bookkeeping only once the request was fully read: a MemoryError above is a failed
        # exchange that the SDK will retry, not a delivery.
        for i in got:
            assert i > self.newest, "event %d out of order or delivered twice" % i
            self.newest = i
            self.delivered[i] = 1
        self.last = digest
        self.requests += 1
        return 200, None, b'{"result":"Success"}'

    def close(self):
        pass


def boot(disk, server):
    fs, root = disk.mount()
    p = FlashPlatform(fs, root, server)
    cfg = Config("http://127.0.0.1:9", "APPKEY", device_id="dev", manual_sessions=True,
                 event_queue_threshold=1, retry_cooldown=0, request_queue_size=50)
    return Countly(cfg, platform=p)


def _run(seed):
    rng = XorShift(seed)
    # ESP32 geometry: 4 KiB blocks, 32 of them: room for the queues, their reserve and the
    # state files with the small backlog below, so that no loss can be a legitimate drop on a
    # full flash. On MicroPython the image lives in a host file so that
    # the 128 KiB heap holds only the SDK and the test.
    disk = Disk(4096, 32, tmpdir("flash") + "/image")
    disk.format()
    dev = disk.dev
    server = Server()
    ly = boot(disk, server)
    accepted = bytearray(4096)  # flags, preallocated: a growing list needs 8 KB in one piece
    idx = 0
    cuts = 0
    kmax = {"record": 12, "send": 10}
    trials = 0
    while cuts < CUTS:
        trials += 1
        assert trials < CUTS * 20, "no progress: %d cuts in %d trials" % (cuts, trials)
        # The backlog stays small so that neither the cap nor a full test flash (64 KiB on
        # MicroPython) drops anything: every loss then is a durability bug.
        op = "record" if (rng.below(2) and ly.pending() < 6) else "send"
        start = dev.ops
        if rng.below(2):
            dev.arm(1 + rng.below(kmax[op]))
        if op == "record":
            ok = ly.events.record("e%d" % idx, segmentation={"i": idx})
        else:
            ly.tick()
        dev.disarm()
        if op == "record":
            if ok and not dev.fired:
                accepted[idx] = 1
            idx += 1
        if not dev.fired:
            kmax[op] = max(2, dev.ops - start + 2)
            continue
        cuts += 1
        ly = None  # the old instance goes before the new one is built, as on a real reboot
        gc.collect()
        ly = boot(disk, server)  # reboot on the same flash bytes
    dev.disarm()
    # The drain runs on a fresh boot too: after a thousand reboots inside one test process the
    # heap is fragmented in ways no real board's would be.
    ly = None
    gc.collect()
    ly = boot(disk, server)
    for _ in range(200):
        if ly.pending() == 0:
            break
        gc.collect()
        ly.flush()
    assert server.error is None, server.error
    assert ly.pending() == 0
    missing = [i for i in range(idx) if accepted[i] and not server.delivered[i]]
    assert missing == [], "lost accepted events %r" % missing
    assert server.dupes <= cuts
    ly = None
    disk.unmount()  # the next run mounts its own image at the same place
    print("sdk powercut seed %d: %d cuts, %d events accepted, %d requests, %d re-delivered"
          % (seed, cuts, sum(accepted), server.requests, server.dupes))


# Four runs of 250 cuts rather than one of 1000: each starts from a fresh flash image and a
# collected heap, as a board does after power-on. A thousand reboots inside one MicroPython
# process fragment its 128 KiB heap in a way no board's would.


def test_sdk_power_cuts_lose_nothing_accepted_1():
    _run(2024)


def test_sdk_power_cuts_lose_nothing_accepted_2():
    _run(7)


def test_sdk_power_cuts_lose_nothing_accepted_3():
    _run(31337)


def test_sdk_power_cuts_lose_nothing_accepted_4():
    _run(99)
