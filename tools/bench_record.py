# bench_record.py - what ly.events.record() costs against the least any durable client does:
# json.dumps(event) + append to the same kind of flash queue. Default Config (the batch closes
# at 100 events), a board's kind of event (a key, a sum, two segmentation values), on both
# backends: LittleFS (tests/support/fastblock.py, a RAM flash that only moves bytes) and the
# raw-flash ring (norblock.FastBlock). Also the flash erases per recorded event (the events and
# the requests that batch them). Runs on both runtimes:
#   python tools/bench_record.py [N] [RUNS]
#   micropython -X heapsize=8m tools/bench_record.py [N] [RUNS]
# Each figure is min / median / max of RUNS runs; a ratio is taken within one run, SDK and
# bare client alternating in chunks so a busy machine slows both alike.

import gc
import json
import sys

ROOT = __file__.rsplit("/", 2)[0] if "/" in __file__ else "."
if ROOT == "tools":
    ROOT = "."
for sub in ("lib", "tests/support", "ports/unix"):
    sys.path.insert(0, ROOT + "/" + sub)

from countly_mp.config import Config  # noqa: E402
from countly_mp.countly import Countly  # noqa: E402
from countly_mp.fsqueue import FsQueue  # noqa: E402
from countly_mp.ringformat import split  # noqa: E402
from countly_mp.ringqueue import RingQueue  # noqa: E402
from fakes import FakePlatform  # noqa: E402
from fastblock import FastDisk  # noqa: E402
from norblock import FastBlock  # noqa: E402

CHUNK = 25
from benchkit import diff, now_us, say, spread  # noqa: E402


class Board(FakePlatform):
    # The fake port with its storage on the benchmark's flash and no network: record() only.
    def __init__(self, fs=None, root=None, ring=None):
        FakePlatform.__init__(self, root=root, online=False)
        self.fs = fs
        self.ring = ring

    def make_queue(self, name, capacity, max_item, store=None):
        if self.ring is None:
            return None
        first, n = split(self.ring.ioctl(4, 0), 50)[1 if name == "eq" else 0]
        return RingQueue(self.ring, first, n, capacity=capacity, max_item=max_item)


def event(i):
    return {"key": "reading", "count": 1, "sum": 20 + i % 7,
            "segmentation": {"sensor": "bme280", "n": i}}


def storage(backend):
    # -> (platform for the SDK, a bare queue on the same kind of flash, erase counter)
    # -> (platform for the SDK, a bare queue on the same kind of flash, erase counter, disk
    # to unmount after, or None)
    if backend == "ring":
        dev = FastBlock(4096, 256)
        bare_dev = FastBlock(4096, 64)
        return Board(ring=dev), RingQueue(bare_dev, 0, 64, capacity=100000), dev, None
    disk = FastDisk(4096, 256)
    disk.format()
    fs, d = disk.mount()
    board = Board(fs=fs, root=d + "/sdk")
    return board, FsQueue(d + "/bare", capacity=100000, fs=fs), disk.dev, disk


def one_run(backend, n):
    gc.collect()
    board, bare, dev, disk = storage(backend)
    ly = Countly(Config("http://127.0.0.1:9", "BENCH"), platform=board)  # defaults
    events = ly.events
    sdk_us = bare_us = 0
    erases = 0
    i = 0
    while i < n:
        gc.collect()
        e0 = dev.erases
        a = now_us()
        for k in range(i, i + CHUNK):
            events.record("reading", sum=20 + k % 7,
                          segmentation={"sensor": "bme280", "n": k})
        sdk_us += diff(a, now_us())
        erases += dev.erases - e0
        gc.collect()
        a = now_us()
        for k in range(i, i + CHUNK):
            bare.append(json.dumps(event(k)).encode())
        bare_us += diff(a, now_us())
        i += CHUNK
    if disk is not None:
        disk.unmount()  # MicroPython keeps a mounted image alive
    return sdk_us / n, bare_us / n, erases / n




def main(argv):
    n = int(argv[1]) if len(argv) > 1 else 400
    runs = int(argv[2]) if len(argv) > 2 else 3
    say("bench_record on %s: %d events per run, default Config" % (sys.implementation.name, n))
    for backend in ("littlefs", "ring"):
        ratios, sdk, bare, wear = [], [], [], []
        for r in range(runs):
            s, b, e = one_run(backend, n)
            ratios.append(s / b)
            sdk.append(s)
            bare.append(b)
            wear.append(e)
            say("%s run %d/%d: record() %.0f us, json.dumps + append %.0f us, %.3f erases/event"
                % (backend, r + 1, runs, s, b, e))
        say("%s: record() / (json.dumps + append) (min / median / max): %s"
            % (backend, spread(ratios)))
        say("%s: erases per recorded event: %s" % (backend, spread(wear, "%.3f")))


main(sys.argv)
