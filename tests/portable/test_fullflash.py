# test_fullflash.py - the request and event queues and the store on storage that fills up:
# LittleFS of 16, 32 and 64 blocks (VfsLfs2 on MicroPython, littlefs-python on CPython), and a
# host directory whose writes fail with ENOSPC past a byte budget (the unix port's disk).
#
# The test plays the core: events go to eq; every few events a request carrying them goes to
# rq and the events are acknowledged; requests are delivered (peek, ack) when online. On
# ENOSPC it drops the oldest requests, then the oldest events, and retries (the core's
# policy). Asserted, through a restart on the full storage:
#   - nothing delivered (acked) is delivered again, and nothing is delivered twice;
#   - new data is always accepted by dropping the oldest, and every drop is counted;
#   - on the full storage an ack and a device-ID write_checked still succeed (the reserve);
#   - after draining, no file leaks: no empty or partial files, no temporaries, at most the
#     cursor slots and one consumed tail per queue, and the reserve is back;
#   - 50 new events after the drain are all delivered; littlefs-python never aborts.

import os
import sys

from countly_mp.fsqueue import FsQueue
from countly_mp.store import Store
from fakes import tmpdir
from fastblock import FastDisk
from ramblock import Disk
from xorshift import XorShift

MP = sys.implementation.name == "micropython"


class Core:
    # The SDK's use of the queues, reduced to what storage sees.
    def __init__(self, fs, root, delivered):
        # delivered: a flag per request id, and per new event (ids 100000 + i) in its tail
        self.fs = fs
        self.store = Store(root, "APPKEY", fs)
        rsv = self.store.reserve  # the queues give it up for acks, and remake it
        self.rq = FsQueue(self.store.path("rq"), capacity=1000, fs=fs, reserve=rsv)
        self.eq = FsQueue(self.store.path("eq"), capacity=1000, fs=fs, reserve=rsv)
        self.delivered = delivered  # request id -> event ids it carried
        self.refused = 0

    def put(self, q, data):
        # On ENOSPC: the oldest requests go first, then the oldest events; then retry.
        while True:
            try:
                return q.append(data)
            except OSError as e:
                if e.args[0] != 28:
                    raise
                if not (self.rq.drop_oldest() or self.eq.drop_oldest()):
                    self.refused += 1
                    return None

    def record(self, n, pad):
        return self.put(self.eq, b'{"key":"e%d","pad":"%s"}' % (n, b"p" * pad))

    def combine(self, rid):
        # Up to 10 events into one request, then the events are acked (marker: the last).
        ids = []
        last = None
        for seq, data in self.eq.items(limit=10):
            ids.append(data[8 : data.index(b'"', 8)].decode())
            last = seq
        if last is None:
            return False
        body = ("R%d|" % rid + ",".join(ids) + "|").encode() + b"x" * 300
        if self.put(self.rq, body) is None:
            return False
        self.eq.ack(last)
        return True

    def send(self):
        head = self.rq.peek()
        if head is None:
            return False
        seq, data = head
        cut = data.index(b"|")
        rid = int(data[1:cut])
        assert not self.delivered[rid], "request %d delivered twice" % rid
        self.delivered[rid] = 1
        for e in data[cut + 1 : data.index(b"|", cut + 1)].split(b","):
            if len(e) == 7:  # e100000 and on: the events recorded after the drain
                self.delivered[4096 + int(e[1:]) - 100000] = 1
        self.rq.ack(seq)
        return True


def _files(fs, d, out):
    # [(path, size)] of the files under d.
    osm = os if fs is None else fs
    for name in osm.listdir(d):
        p = d + "/" + name
        st = osm.stat(p)
        if st[0] & 0x4000:
            _files(fs, p, out)
        else:
            out.append((p, st[6]))
    return out


def _run(blocks, fs_factory, label, budget=None):
    rng = XorShift(blocks * 7919 + (budget or 0))
    delivered = bytearray(4096 + 50)
    fs, root = fs_factory()
    core = Core(fs, root, delivered)
    core.store.write_checked("device_id", b"dev-1")
    rid = n = 0
    # Offline, events only (no request made from them yet): when they fill the storage and
    # there is no request to drop, the oldest events go.
    while core.eq.dropped < 3:
        assert core.record(n, 400) is not None
        n += 1
    # Offline until storage has been full many times over: ENOSPC, drops, and on.
    cap = blocks * 4096 if blocks else budget
    written = 0
    while written < cap or core.rq.dropped < 20:
        pad = 20 + rng.below(400)
        if core.record(n, pad) is not None:
            written += 30 + pad
        n += 1
        if n % 5 == 0 and core.combine(rid):
            rid += 1
    assert core.rq.dropped >= 20, "storage never filled"
    dropped = core.rq.dropped + core.eq.dropped
    drops = (core.rq.dropped, core.eq.dropped, core.refused)
    # Full storage (a 100-byte event no longer fits): a delivery's ack and a device-ID
    # write still succeed.
    while True:
        try:
            core.eq.append(b'{"key":"e%d","pad":"%s"}' % (n, b"p" * 100))
            n += 1
        except OSError as e:
            assert e.args[0] == 28
            break
    assert core.rq.dropped + core.eq.dropped == dropped
    assert core.send(), "nothing to deliver"
    core.store.write_checked("device_id", b"dev-2")
    # Restart on the full storage.
    core = None
    fs, root = fs_factory(False)
    core = Core(fs, root, delivered)
    assert core.store.read_checked("device_id") == b"dev-2"
    for _, data in core.rq.items():
        assert not delivered[int(data[1 : data.index(b"|")])], "an acked request came back"
    # Online: drain everything, then 50 new events, all delivered once.
    while core.send() or core.combine(rid):
        rid += 1
    assert len(core.rq) == 0 and len(core.eq) == 0
    for i in range(50):
        assert core.record(100000 + i, 50) is not None
        if i % 10 == 9:
            assert core.combine(rid)
            rid += 1
            assert core.send()
    for i in range(50):
        assert delivered[4096 + i], "new event %d not delivered" % i
    # No leaks: only cursor slots, at most one (consumed) tail per queue, the device ID and
    # the reserve.
    files = _files(fs, core.store.dir, [])
    names = sorted(p.rsplit("/", 1)[1] for p, _ in files)
    for p, size in files:
        name = p.rsplit("/", 1)[1]
        assert size > 0 and not name.endswith(".tmp"), (label, p, size)
        assert name in ("c0", "c1", "device_id", "reserve") or name[0] == "t", (label, p)
    assert names.count("reserve") == 1 and len([x for x in names if x[0] == "t"]) <= 2
    assert core.rq.corrupt == 0 and core.eq.corrupt == 0 and core.store.corrupt == 0
    print("full %s: %d events, %d requests delivered; while full %d requests and %d events "
          "dropped, %d refused; %d files after the drain"
          % ((label, n, sum(delivered[:4096])) + drops + (len(files),)))


def _lfs(blocks):
    # MicroPython: the image in a host file, off the 128 KiB heap. CPython: fastblock's bare
    # RAM device (ramblock's bookkeeping of every read would triple the run time).
    disk = Disk(4096, blocks, tmpdir("full") + "/image") if MP else FastDisk(4096, blocks)
    disk.format()

    def boot(first=True):
        return disk.mount()

    try:
        _run(blocks, boot, "LittleFS %d blocks" % blocks)
    finally:
        disk.unmount()


def test_full_littlefs_16_blocks():
    _lfs(16)


def test_full_littlefs_32_blocks():
    _lfs(32)


def test_full_littlefs_64_blocks():
    _lfs(64)


class BudgetFs:
    # Host files through os/open; a write that would take the files under root past budget
    # bytes writes what fits and fails with ENOSPC, as a full disk does. "wb" truncates
    # first, as open() does, freeing the old bytes before the new ones fail.
    def __init__(self, root, budget):
        self.root = root
        self.budget = budget
        self.refusals = 0

    def used(self):
        return sum(size for _, size in _files(None, self.root, []))

    def open(self, p, mode="r"):
        f = open(p, mode)
        return _BudgetFile(f, self, p) if ("w" in mode or "a" in mode or "+" in mode) else f

    def listdir(self, p):
        return os.listdir(p)

    def mkdir(self, p):
        os.mkdir(p)

    def remove(self, p):
        os.remove(p)

    def rename(self, a, b):
        os.rename(a, b)

    def stat(self, p):
        return os.stat(p)


class _BudgetFile:
    def __init__(self, f, fs, path):
        self.f = f
        self.fs = fs
        self.path = path

    def write(self, b):
        self.f.flush()
        grow = self.f.tell() + len(b) - os.stat(self.path)[6]
        free = self.fs.budget - self.fs.used()
        if grow > free:
            if free > 0:
                self.f.write(bytes(b)[:free])
                self.f.flush()
            self.fs.refusals += 1
            raise OSError(28)
        return self.f.write(b)

    def seek(self, off, whence=0):
        return self.f.seek(off, whence)

    def flush(self):
        return self.f.flush()

    def close(self):
        return self.f.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def test_full_host_disk():
    root = tmpdir("fullhost")
    budget = 48 * 1024
    fs = BudgetFs(root, budget)

    def boot(first=True):
        return fs, root

    _run(0, boot, "host disk %d KiB" % (budget // 1024), budget)
    assert fs.refusals > 0


def test_full_host_disk_first_ack_and_device_id_use_the_reserve():
    # The cursor slots do not exist yet and the disk is full to the byte: the first ack needs
    # new bytes, which the reserve gives up; once a segment is freed the reserve comes back.
    root = tmpdir("fullres")
    fs = BudgetFs(root, 1 << 30)
    st = Store(root, "APPKEY", fs)
    q = FsQueue(st.path("rq"), fs=fs, reserve=st.reserve)
    seqs = [q.append(b"r%d" % i * 100) for i in range(5)]  # 1.1 KiB in all
    fs.budget = fs.used()
    try:
        q.append(b"one more")
        raise AssertionError("expected ENOSPC")
    except OSError as e:
        assert e.args[0] == 28
    assert [s for s, _ in q.items()] == seqs and len(q) == 5  # unchanged
    q.ack(seqs[1])
    assert "reserve" not in os.listdir(st.dir) and fs.refusals > 1
    st.write_checked("device_id", b"dev-8")  # in what the reserve freed
    q = FsQueue(st.path("rq"), fs=fs, reserve=st.reserve)  # the ack persisted
    assert q.peek()[0] == seqs[2] and len(q) == 3
    fs.budget = fs.used()  # full to the byte again, and no reserve left
    try:
        st.write_checked("device_id", b"dev-9")
        raise AssertionError("expected ENOSPC: the reserve is spent")
    except OSError as e:
        assert e.args[0] == 28
    assert st.read_checked("device_id") == b"dev-8"  # the old value, whole
    assert ".tmp" not in "".join(os.listdir(st.dir))
    assert q.drop_oldest() == 3 and q.dropped == 3  # the segment goes: 1.1 KiB freed...
    assert "reserve" not in os.listdir(st.dir)  # ...too little to remake the reserve
    fs.budget += 8192
    q.append(b"a")  # a new tail, then consumed and dropped: freed, and the reserve is back
    assert q.drop_oldest() == 1 and "reserve" in os.listdir(st.dir)
    st.write_checked("device_id", b"dev-9")
    assert Store(root, "APPKEY", fs).read_checked("device_id") == b"dev-9"
    assert len(FsQueue(st.path("rq"), fs=fs)) == 0
