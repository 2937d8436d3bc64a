# bench_ring.py - speed and flash wear of RingQueue on a RAM flash with counters only
# (tests/support/norblock.py FastBlock: 4 KiB sectors, 128-byte records). Both runtimes:
#   python tools/bench_ring.py
#   micropython -X heapsize=12m tools/bench_ring.py     (the depth-5000 ring needs 4 MiB)
# Every figure is min / median / max of 3 runs; ratios are taken within one run. Times are
# the interpreter's work per call: on a board the flash adds its own (a NOR sector erase is
# about 45 ms, a page program about 0.5 ms), which is why erases per append are counted.
# Each timed batch starts right after a collection and allocates far less than the free heap,
# so no collection lands inside it: MicroPython scans the whole multi-MiB RAM image on each,
# a cost of the RAM flash, not of the queue (a few small objects per call at any depth).

import gc
import sys

ROOT = __file__.rsplit("/", 2)[0] if "/" in __file__ else "."
if ROOT == "tools":
    ROOT = "."
for sub in ("lib", "tests/support"):
    sys.path.insert(0, ROOT + "/" + sub)

from countly_mp.ringqueue import RingQueue  # noqa: E402
from norblock import FastBlock  # noqa: E402
from xorshift import XorShift  # noqa: E402

from benchkit import diff, now_us  # noqa: E402

RUNS = 3
N = 200  # calls per timed batch
BATCHES = 5

def request(rng):
    return b"r" * (300 + rng.below(301))  # a Countly request of 300-600 bytes


def _batch(q, items):
    gc.collect()
    a = now_us()
    for b in items:
        q.append(b)
    return diff(a, now_us()) / len(items)


def appends_at(q, rng, d):
    # us per append at depth d: the best of BATCHES batches of N prepared requests (a shared
    # host preempts a batch at random; the best one is the queue's own cost), each batch
    # starting at depth d
    best = None
    for _ in range(BATCHES):
        while len(q) < d:
            q.append(request(rng))
        while len(q) > d:
            if d == 0:
                q.ack(q.peek_last()[0])
            else:
                q.ack(q.peek()[0])
        t = _batch(q, [request(rng) for _ in range(N)])
        best = t if best is None or t < best else best
    return best


def depth(rng):
    # -> (us per append at depth 0, at 1000, at 5000; us per peek+ack at depth 5000)
    dev = FastBlock(4096, 1024)
    q = RingQueue(dev, 0, 1024, capacity=100000)
    _batch(q, [request(rng) for _ in range(N)])  # warm-up
    out = [appends_at(q, rng, d) for d in (0, 1000, 5000)]
    best = None
    for _ in range(BATCHES):
        gc.collect()
        a = now_us()
        for _ in range(N):
            s, _b = q.peek()
            q.ack(s)
        t = diff(a, now_us()) / N
        best = t if best is None or t < best else best
    out.append(best)
    del q, dev
    gc.collect()
    return out


def wear(size, n=3200):
    # -> (ring erases per append, all erases per append+peek+ack, programs per append)
    dev = FastBlock(4096, 128)
    q = RingQueue(dev, 0, 128, capacity=100000)
    item = b"e" * size
    for _ in range(n):
        q.append(item)
    e_append = dev.erases / n
    p_append = dev.progs / n
    dev = FastBlock(4096, 128)
    q = RingQueue(dev, 0, 128, capacity=100000)
    for _ in range(n):
        q.append(item)
        s, _b = q.peek()
        q.ack(s)
    return e_append, dev.erases / n, p_append


def recovery(nblocks, acked):
    # -> ms to open a full region (the ring wrapped, every slot used), and the items found
    dev = FastBlock(4096, nblocks)
    q = RingQueue(dev, 0, nblocks, capacity=100000)
    rng = XorShift(7)
    for _ in range(2 * (nblocks - 2) * 32 // 3):
        q.append(b"o" * (250 + rng.below(80)))
    if acked:
        q.ack(q.peek_last()[0])
    gc.collect()
    a = now_us()
    q2 = RingQueue(dev, 0, nblocks, capacity=100000)
    t = diff(a, now_us()) / 1000
    n = len(q2)
    del q, q2, dev
    gc.collect()
    return t, n


def mmm(xs, fmt):
    xs = sorted(xs)
    return (fmt + " / " + fmt + " / " + fmt) % (xs[0], xs[len(xs) // 2], xs[-1])


def main():
    print("bench_ring on %s: 4096 B sectors, 128 B records, %d runs, min / median / max"
          % (sys.implementation.name, RUNS))
    rng = XorShift(2463534242)
    rows = {}

    def add(key, v):
        rows.setdefault(key, []).append(v)

    for r in range(RUNS):
        print("run %d/%d: enqueue at depth 0, 1000, 5000 ..." % (r + 1, RUNS))
        t0, t1, t5, pa = depth(rng)
        add("t0", t0)
        add("t1", t1)
        add("t5", t5)
        add("r1", t1 / t0)
        add("r5", t5 / t0)
        add("pa", pa)
        print("run %d/%d: erases per append ..." % (r + 1, RUNS))
        for size in (100, 300):
            ea, eo, pp = wear(size)
            add("ea%d" % size, ea)
            add("eo%d" % size, eo)
            add("pp%d" % size, pp)
        print("run %d/%d: recovery ..." % (r + 1, RUNS))
        for nb, name in ((64, "256k"), (256, "1m")):
            for acked in (False, True):
                t, n = recovery(nb, acked)
                add("o%s%d" % (name, acked), t)
                add("n%s%d" % (name, acked), n)
    g = rows
    print("")
    print("enqueue 300-600 B, depth 0:            %s us" % mmm(g["t0"], "%.0f"))
    print("enqueue 300-600 B, depth 1000:         %s us" % mmm(g["t1"], "%.0f"))
    print("enqueue 300-600 B, depth 5000:         %s us" % mmm(g["t5"], "%.0f"))
    print("ratio depth 1000 / depth 0:            %s" % mmm(g["r1"], "%.2f"))
    print("ratio depth 5000 / depth 0:            %s" % mmm(g["r5"], "%.2f"))
    print("peek+ack at depth 5000:                %s us" % mmm(g["pa"], "%.0f"))
    for size in (100, 300):
        print("%d B items: erases per append:        %s  (programs %s)"
              % (size, mmm(g["ea%d" % size], "%.4f"), mmm(g["pp%d" % size], "%.2f")))
        print("%d B items: erases per append+peek+ack: %s  (ring + cursor)"
              % (size, mmm(g["eo%d" % size], "%.4f")))
    for name, label in (("256k", "256 KiB"), ("1m", "1 MiB")):
        print("open a full %s region, %d waiting: %s ms"
              % (label, g["n%s0" % name][0], mmm(g["o%s0" % name], "%.1f")))
        print("open a full %s region, all acked:     %s ms"
              % (label, mmm(g["o%s1" % name], "%.1f")))

main()
