# bench_queue.py - FsQueue on real LittleFS (RAM flash): flash wear, and the enqueue time at
# depth 1000 and 5000 against depth 0. Runs on both runtimes:
#   micropython -X heapsize=12m tools/bench_queue.py   (VfsLfs2, MicroPython's own littlefs)
#   python tools/bench_queue.py                       (littlefs-python, VfsLfs2's configuration)
# 4 KiB erase blocks, requests of 300-600 bytes, every append durable when it returns.
# Times are taken on tests/support/fastblock.py (a device that only moves bytes), so they
# measure littlefs and the queue, not the test device's bookkeeping. Each figure is a mean over
# N appends at a steady depth (each chunk of 50 appends is followed by acking the 50 oldest),
# depth 0 and depth D taken in alternating chunks on two images, so a busy machine slows both
# alike; the ratios are min/median/max over RUNS runs on fresh flash. Depth 5000 needs two
# 4 MiB images (1024 blocks); a heap too small for them leaves depth 5000 out, with a note.
#
#   [micropython -X heapsize=12m | python] tools/bench_queue.py [N] [RUNS]

import gc
import sys

ROOT = __file__.rsplit("/", 2)[0] if "/" in __file__ else "."
if ROOT == "tools":
    ROOT = "."
for sub in ("lib", "tests/support"):
    sys.path.insert(0, ROOT + "/" + sub)

from countly_mp.fsqueue import FsQueue  # noqa: E402
from fastblock import FastDisk  # noqa: E402
from xorshift import XorShift as Rng  # noqa: E402

from benchkit import diff, now_us, say, spread  # noqa: E402


def request(rng):
    return b"r" * (300 + rng.below(301))  # a Countly request of 300-600 bytes


def fresh(nblocks):
    gc.collect()
    disk = FastDisk(4096, nblocks)
    disk.format()
    fs, d = disk.mount()
    return disk, FsQueue(d + "/q", capacity=100000, fs=fs)


def wear(rng, n=300):
    # Offline: requests pile up (no ack). Drain: each is then peeked and acked. Online: append,
    # peek, ack one at a time.
    disk, q = fresh(128)
    dev = disk.dev
    e0 = dev.erases
    for _ in range(n):
        q.append(request(rng))
    ea = dev.erases - e0
    e1 = dev.erases
    for _ in range(n):
        s, _b = q.peek()
        q.ack(s)
    ek = dev.erases - e1
    disk.unmount()
    disk = q = None
    disk, q = fresh(128)
    dev = disk.dev
    e2 = dev.erases
    for _ in range(n):
        q.append(request(rng))
        s, _b = q.peek()
        q.ack(s)
    ec = dev.erases - e2
    disk.unmount()
    say("erases per append, offline (queue grows):          %.2f" % (ea / n))
    say("erases per peek+ack of each, drain:               %.2f" % (ek / n))
    say("erases per append+peek+ack, online:               %.2f" % (ec / n))


def timed(q, rng, n):
    t = 0
    for _ in range(n):
        b = request(rng)
        a = now_us()
        q.append(b)
        t += diff(a, now_us())
    return t / n


def chunk(q, rng, k):
    # k appends timed, then k of the oldest acked (not timed): the depth stays where it was.
    t = timed(q, rng, k) * k
    q.ack(q.peek()[0] + k - 1)  # seqs are consecutive: no append failed
    return t


def depth_pair(rng, n, dep, nblocks, k=50):
    # Mean enqueue time at depth 0 and at depth dep, taken in alternating chunks on two flash
    # images, so a busy machine slows both alike and the ratio stays meaningful.
    d0, q0 = fresh(nblocks)
    d1, q1 = fresh(nblocks)
    for q in (q0, q1):
        timed(q, rng, 100)  # warm-up
        q.ack(q.peek_last()[0])
    while len(q1) < dep:
        q1.append(request(rng))
    t0 = t1 = 0
    done = 0
    while done < n:
        t0 += chunk(q0, rng, k)
        t1 += chunk(q1, rng, k)
        done += k
    d0.unmount()
    d1.unmount()
    return t0 / done, t1 / done




def main(argv):
    n = int(argv[1]) if len(argv) > 1 else 500
    runs = int(argv[2]) if len(argv) > 2 else 3
    say("bench_queue on %s: 4096 B blocks, requests of 300-600 B" % sys.implementation.name)
    rng = Rng(2463534242)
    wear(rng)
    depths = (0,)
    for nblocks, deps in ((1024, (0, 1000, 5000)), (192, (0, 1000))):
        try:
            gc.collect()
            FastDisk(4096, nblocks), FastDisk(4096, nblocks)
            depths = deps
            break
        except MemoryError:
            pass
    if len(depths) < 3:
        say("note: heap too small for two 4 MiB images; depth 5000%s left out "
            "(micropython -X heapsize=12m runs it)" % ("" if len(depths) == 2 else " and 1000"))
    for dep in depths[1:]:
        ratios = []
        for i in range(runs):
            gc.collect()
            a, b = depth_pair(rng, n, dep, nblocks)
            ratios.append(b / a)
            say("depth %d run %d/%d: mean enqueue %.0f us at depth 0, %.0f us at depth %d"
                % (dep, i + 1, runs, a, b, dep))
        say("ratio depth %d / depth 0 (min / median / max of %d runs): %s"
            % (dep, runs, spread(ratios)))


main(sys.argv)
