# bench_queue.py - flash wear and enqueue cost of FsQueue on real LittleFS (RAM flash).
# Runs on both runtimes:
#   micropython tools/bench_queue.py      (VfsLfs2, MicroPython's own littlefs build)
#   python tools/bench_queue.py           (littlefs-python with VfsLfs2's configuration)
# 4 KiB erase blocks, 128 B records, every request durable when append() returns.

import sys

ROOT = __file__.rsplit("/", 2)[0] if "/" in __file__ else "."
if ROOT == "tools":
    ROOT = "."
for sub in ("lib", "tests/support"):
    sys.path.insert(0, ROOT + "/" + sub)

from countly_mp.fsqueue import FsQueue  # noqa: E402
from ramblock import Disk, reserve  # noqa: E402
from xorshift import XorShift as Rng  # noqa: E402

reserve()

MP = sys.implementation.name == "micropython"
if MP:
    import time

    def now_us():
        return time.ticks_us()

    def diff(a, b):
        return time.ticks_diff(b, a)

else:
    import time

    def now_us():
        return int(time.perf_counter() * 1000000)

    def diff(a, b):
        return b - a




def request(rng):
    n = 300 + rng.below(301)  # a Countly request of 300-600 bytes
    return b"r" * n


def fresh(nblocks, cap):
    disk = Disk(4096, nblocks)
    disk.format()
    fs, d = disk.mount()
    return disk, FsQueue(d, capacity=cap, fs=fs)


def wear(rng, n=300):
    # Online device: append one request, send it (peek), ack it.
    disk, q = fresh(256, 1000)
    dev = disk.dev
    e0, p0 = dev.erases, dev.prog_bytes
    for _ in range(n):
        q.append(request(rng))
    ea = dev.erases - e0
    pb = dev.prog_bytes - p0
    e1 = dev.erases
    for _ in range(n):
        s, _b = q.peek()
        q.ack(s)
    ek = dev.erases - e1
    disk.unmount()
    # Offline device: requests pile up (no ack) - pure append wear.
    disk, q = fresh(256, 1000)
    dev = disk.dev
    e2 = dev.erases
    for _ in range(n):
        q.append(request(rng))
        s, _b = q.peek()
        q.ack(s)
    ec = dev.erases - e2
    disk.unmount()
    print("erases per request, append only (offline, queue grows):  %.2f" % (ea / n))
    print("erases per request, later peek+ack of each (drain):       %.2f" % (ek / n))
    print("erases per request, append+peek+ack cycle (online):       %.2f" % (ec / n))
    print("flash bytes programmed per request (append phase):       %d" % (pb // n))


def timed_appends(q, rng, n):
    t = 0
    for _ in range(n):
        b = request(rng)
        a = now_us()
        q.append(b)
        t += diff(a, now_us())
    return t / n


def depth(rng, n=200):
    # n is large enough to include littlefs' periodic allocator scans (lookahead refills
    # traverse every file), which dominate the cost at depth on MicroPython's littlefs.
    disk, q = fresh(256, 2000)
    timed_appends(q, rng, n)  # warm-up
    q.ack(q.peek_last()[0])  # back to depth 0
    t0 = timed_appends(q, rng, n)
    q.ack(q.peek_last()[0])
    while len(q) < 1000:
        q.append(request(rng))
    nseg = len([x for x in _listdir(disk, q) if x[0] == "s"])
    r0 = disk.dev.reads
    t1 = timed_appends(q, rng, n)
    r1 = (disk.dev.reads - r0) // n
    a = now_us()
    fs, d = disk.mount()
    q2 = FsQueue(d, capacity=2000, fs=fs)
    topen = diff(a, now_us())
    print("enqueue time at depth 0:    %8.0f us" % t0)
    print("enqueue time at depth 1000: %8.0f us  (%d segments, %d reads/append)" % (t1, nseg, r1))
    print("ratio depth 1000 / depth 0: %8.2f" % (t1 / t0))
    print("reopen with %d items:      %8.0f us" % (len(q2), topen))
    disk.unmount()


def _listdir(disk, q):
    if MP:
        import os

        return os.listdir(disk.MOUNT)
    return q._fs.listdir(disk.MOUNT)


def main():
    print("bench_queue on %s, 4096 B blocks, 128 B records" % sys.implementation.name)
    rng = Rng(2463534242)
    wear(rng)
    depth(rng)


main()
