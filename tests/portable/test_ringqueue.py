# test_ringqueue.py - RingQueue behaviour on a NOR-rule RAM flash (tests/support/norblock.py):
# the queue contract of docs/internals.md, wrap-around, items across sectors, exact drops,
# capacity changes, recovery, device errors. Plain test_* functions: run by pytest on CPython
# and by tests/mp_runner.py under `micropython -X heapsize=128k`.

import sys

import qb_ring
from countly_mp.ringqueue import RingQueue
from fakes import tmpdir
from norblock import NorBlock

MP = sys.implementation.name == "micropython"


def _data(i, n):
    b = bytearray(n)
    for j in range(n):
        b[j] = (i * 31 + j * 7) & 0xFF
    return bytes(b)


def _path():
    # On MicroPython the flash image is a host file: a 40 KiB image plus 5 KiB items do not
    # fit the 128 KiB heap together.
    return tmpdir("ringq") + "/flash" if MP else None


def _dev(bs=4096, n=10):
    return NorBlock(bs, n, path=_path(), once=True)


def _ok(dev):
    assert dev.violations == 0, "programmed over programmed bytes"


def test_contract_fifo_sizes_and_reopen():
    q, reopen = qb_ring.make(50, 5184)
    assert q.max_item >= 5184
    assert len(q) == 0 and q.peek() is None and q.peek_last() is None
    sizes = (0, 1, 111, 112, 113, 300, 600, 1000, 5184, 7)
    seqs = [q.append(_data(i, n)) for i, n in enumerate(sizes)]
    assert seqs == list(range(1, len(sizes) + 1))
    assert len(q) == len(sizes)
    got = list(q.items())
    assert [s for s, _ in got] == seqs
    for i, (_s, d) in enumerate(got):
        assert d == _data(i, sizes[i])
    assert q.peek() == (1, b"")
    assert q.peek_last() == (seqs[-1], _data(len(sizes) - 1, sizes[-1]))
    assert [s for s, _ in q.items(limit=3)] == [1, 2, 3]
    assert [s for s, _ in q.items(after=4, limit=2)] == [5, 6]
    q.ack(3)
    assert len(q) == len(sizes) - 3 and q.peek()[0] == 4
    q = reopen()
    assert len(q) == len(sizes) - 3 and q.corrupt == 0
    got = list(q.items())
    assert [s for s, _ in got] == seqs[3:]
    assert got[5][1] == _data(8, 5184)
    assert q.append(b"next") == seqs[-1] + 1  # sequence numbers survive a reopen
    q.ack(q.peek_last()[0])
    assert len(q) == 0 and q.peek() is None and q.peek_last() is None
    q = reopen()
    assert len(q) == 0 and q.peek() is None
    assert q.append(b"x") == seqs[-1] + 2  # ...also when everything was acked


def test_peek_into_copies_into_the_callers_buffer():
    dev = _dev()
    q = RingQueue(dev, 0, 10, capacity=100, max_item=5184)
    buf = bytearray(5200)
    mv = memoryview(buf)
    assert q.peek_into(mv[3:]) is None
    q.append(_data(0, 5184))  # 47 records across sectors
    q.append(_data(1, 10))
    assert q.peek_into(mv[3:]) == (1, 5184) and buf[3:5187] == _data(0, 5184)
    try:
        q.peek_into(bytearray(100))
        raise AssertionError("no ValueError")
    except ValueError:
        pass
    assert len(q) == 2  # nothing consumed
    assert q.peek_into(mv[3:])[0] == 1
    q.ack(1)  # the ack of the item just read
    assert q.peek_into(buf) == (2, 10) and buf[0:10] == _data(1, 10) and len(q) == 1


def test_too_large_item_rejected_nothing_written():
    dev = _dev()
    q = RingQueue(dev, 0, 10, capacity=10, max_item=300)
    assert q.max_item >= 300
    q.append(b"a")
    before = (dev.progs, dev.erases)
    try:
        q.append(b"x" * (q.max_item + 1))
        raise AssertionError("no ValueError")
    except ValueError:
        pass
    assert (dev.progs, dev.erases) == before and len(q) == 1
    assert q.append(b"b") == 2  # the refused item took no seq
    q.append(b"y" * q.max_item)
    _ok(dev)


def test_region_too_small_or_misaligned_refused():
    dev = _dev(4096, 6)
    for args in ((0, 4, 5184), (0, 7, 100), (0, 5, 5184)):
        try:
            RingQueue(dev, args[0], args[1], max_item=args[2])
            raise AssertionError("accepted %r" % (args,))
        except ValueError:
            pass
    RingQueue(dev, 0, 6, max_item=5184)  # 4 ring sectors: the largest item spans 3


def test_capacity_drops_exact_and_runtime_changes():
    dev = _dev()
    q = RingQueue(dev, 0, 10, capacity=5, max_item=600)
    for i in range(12):
        q.append(_data(i, 50))
    assert len(q) == 5 and q.dropped == 7
    assert [s for s, _ in q.items()] == [8, 9, 10, 11, 12]
    q.capacity = 3  # applies from the next append
    assert len(q) == 5
    q.append(_data(12, 50))
    assert len(q) == 3 and q.dropped == 10
    assert [s for s, _ in q.items()] == [11, 12, 13]
    q.capacity = 8
    for i in range(13, 20):
        q.append(_data(i, 50))
    assert len(q) == 8 and q.dropped == 12
    assert [s for s, _ in q.items()] == list(range(13, 21))
    # cap drops are not persisted: a reopen enforces the cap again, uncounted
    q = RingQueue(dev, 0, 10, capacity=8, max_item=600)
    assert len(q) == 8 and q.dropped == 0 and q.peek()[0] == 13
    q = RingQueue(dev, 0, 10, capacity=2, max_item=600)
    assert len(q) == 2 and q.dropped == 0 and [s for s, _ in q.items()] == [19, 20]
    _ok(dev)


def test_storage_full_drops_oldest_counted_never_enospc():
    dev = _dev(1024, 8)  # 6 ring sectors of 8 records: 48 records
    q = RingQueue(dev, 0, 8, capacity=1000, max_item=300)
    n = 0
    for i in range(200):
        q.append(_data(i, 300))  # 3 records each
        n += 1
        assert len(q) + q.dropped == n
        assert len(q) <= 16
    seqs = [s for s, _ in q.items()]
    assert seqs == list(range(201 - len(q), 201))  # the newest, contiguous
    assert len(q) >= 13  # at most one sector (plus a straddling item) is being reused
    q2 = RingQueue(dev, 0, 8, capacity=1000, max_item=300)
    assert [s for s, _ in q2.items()] == seqs and q2.corrupt == 0
    _ok(dev)


def test_wraps_many_times_wear_spread():
    dev = _dev(1024, 8)
    q = RingQueue(dev, 0, 8, capacity=100, max_item=300)
    nxt = 1
    for i in range(3000):
        s = q.append(_data(i, 1 + (i * 37) % 112))  # one record each
        assert s == i + 1
        if i % 3 == 2:
            while len(q) > 1:
                p = q.peek()
                assert p[0] == nxt and p[1] == _data(nxt - 1, 1 + ((nxt - 1) * 37) % 112)
                q.ack(p[0])
                nxt += 1
    ring = dev.wear[2:]
    assert max(ring) - min(ring) <= 1, ring  # the ring spreads its own wear
    assert sum(ring) * 8 <= 3000 + 8 * 6  # one erase per 8 records (8 per 1 KiB sector)
    assert dev.wear[0] + dev.wear[1] <= 3000 // 64 + 2  # cursor: 64 entries per sector
    q = RingQueue(dev, 0, 8, capacity=100, max_item=300)
    assert q.peek()[0] == nxt and len(q) == 3000 - nxt + 1
    _ok(dev)


def test_items_cross_sectors_and_wrap():
    dev = _dev(1024, 10)  # 8 ring sectors of 8 records
    q = RingQueue(dev, 0, 10, capacity=100, max_item=1000)  # 9 records: spans 3 sectors
    sizes = []
    for i in range(60):
        n = (250, 1000, 480, 5, 777)[i % 5]
        q.append(_data(i, n))
        sizes.append(n)
    got = list(q.items())
    assert got and got[-1][0] == 60
    for s, d in got:
        assert d == _data(s - 1, sizes[s - 1])
    assert len(got) + q.dropped == 60
    q2 = RingQueue(dev, 0, 10, capacity=100, max_item=1000)
    assert list(q2.items()) == got and q2.corrupt == 0
    _ok(dev)


def test_ack_durable_cursor_wraps_and_seq_never_reused():
    dev = _dev(1024, 8)
    q = RingQueue(dev, 0, 8, capacity=50, max_item=300)
    for i in range(300):  # 300 acks: the 64-entry cursor sectors alternate several times
        s = q.append(_data(i, 20))
        q.ack(s)
        assert len(q) == 0
    assert dev.wear[0] >= 2 and dev.wear[1] >= 2
    q.append(_data(300, 20))
    q.append(_data(301, 20))
    q = RingQueue(dev, 0, 8, capacity=50, max_item=300)
    assert [s for s, _ in q.items()] == [301, 302]
    q.ack(301)
    q.ack(301)  # repeated: no-op
    q.ack(1)  # old: no-op
    q.ack(10**6)  # beyond the newest: clamped to it
    assert len(q) == 0
    q = RingQueue(dev, 0, 8, capacity=50, max_item=300)
    assert len(q) == 0 and q.append(b"z") == 303
    _ok(dev)


def test_ack_after_items_and_peek_hints():
    dev = _dev()
    q = RingQueue(dev, 0, 10, capacity=100, max_item=600)
    for i in range(30):
        q.append(_data(i, 100 + i * 10))
    batch = list(q.items(limit=10))
    q.ack(batch[-1][0])
    assert len(q) == 20 and q.peek()[0] == 11
    q.ack(11)
    assert len(q) == 19
    got = list(q.items(after=15, limit=3))
    assert [s for s, _ in got] == [16, 17, 18]
    q.ack(18)  # acks 12..18 although the last read did not start at the tail
    assert len(q) == 12 and q.peek()[0] == 19
    assert [s for s, _ in q.items(after=18)] == list(range(19, 31))
    q = RingQueue(dev, 0, 10, capacity=100, max_item=600)
    assert len(q) == 12 and q.peek() == (19, _data(18, 280))
    q.ack(21)  # beyond the one item peeked: 19, 20 and 21 go
    assert len(q) == 9 and q.peek()[0] == 22
    assert [s for s, _ in q.items(limit=2)] == [22, 23]
    q.ack(25)  # beyond the two items read
    assert len(q) == 5 and [s for s, _ in q.items()] == [26, 27, 28, 29, 30]


def test_drop_oldest_frees_a_sector_durably():
    dev = _dev(1024, 8)
    q = RingQueue(dev, 0, 8, capacity=100, max_item=300)
    assert q.drop_oldest() == 0
    for i in range(20):
        q.append(_data(i, 200))  # 2 records: 4 items start in each 8-record sector
    n = q.drop_oldest()
    assert n == 4 and q.dropped == 4 and len(q) == 16 and q.peek()[0] == 5
    q = RingQueue(dev, 0, 8, capacity=100, max_item=300)
    assert len(q) == 16 and q.peek()[0] == 5
    while len(q):
        q.drop_oldest()
    assert q.dropped == 16 and q.peek() is None and q.drop_oldest() == 0
    _ok(dev)


def test_peek_last_and_reopen_keeps_newest():
    dev = _dev()
    q = RingQueue(dev, 0, 10, capacity=100, max_item=600)
    for i in range(7):
        q.append(_data(i, 500))
    assert q.peek_last() == (7, _data(6, 500))
    q = RingQueue(dev, 0, 10, capacity=100, max_item=600)
    assert q.peek_last() == (7, _data(6, 500))
    q.ack(7)
    assert q.peek_last() is None


class _Failing(NorBlock):
    # A device whose next program or erase fails once (a flash error, not a power cut).
    fail = None

    def writeblocks(self, blk, buf, off=None):
        if self.fail == "prog":
            self.fail = None
            NorBlock.writeblocks(self, blk, bytes(len(buf) // 2) + b"\xff" * (len(buf) // 2), off)
            raise OSError(5)
        return NorBlock.writeblocks(self, blk, buf, off)

    def ioctl(self, op, arg):
        if op == 6 and self.fail == "erase":
            self.fail = None
            raise OSError(5)
        return NorBlock.ioctl(self, op, arg)


def test_device_errors_leave_the_queue_consistent():
    dev = _Failing(1024, 8, path=_path(), once=True)
    q = RingQueue(dev, 0, 8, capacity=100, max_item=300)
    for i in range(5):
        q.append(_data(i, 150))
    dev.fail = "prog"
    try:
        q.append(_data(5, 150))
        raise AssertionError("no OSError")
    except OSError:
        pass
    assert len(q) == 5
    assert q.append(_data(6, 150)) == 7  # seq 6 is never reused
    dev.fail = "erase"
    try:
        for i in range(7, 20):
            q.append(_data(i, 150))
        raise AssertionError("no OSError")
    except OSError:
        pass
    q.append(_data(40, 150))  # the erase is retried
    dev.fail = "prog"  # the cursor entry fails: nothing changes, a retry works
    n = len(q)
    try:
        q.ack(q.peek()[0])
        raise AssertionError("no OSError")
    except OSError:
        pass
    assert len(q) == n
    s = q.peek()[0]
    q.ack(s)
    assert len(q) == n - 1
    dev.fail = "prog"  # a torn item, then more items after it in the same sector
    try:
        q.append(_data(50, 150))
        raise AssertionError("no OSError")
    except OSError:
        pass
    q.append(_data(51, 20))
    seqs = [x for x, _ in q.items()]
    q2 = RingQueue(dev, 0, 8, capacity=100, max_item=300)
    assert [x for x, _ in q2.items()] == seqs and q2.corrupt >= 1  # the torn records
    q2.append(_data(52, 300))  # the head follows the last programmed slot, not the first free
    assert [x for x, _ in q2.items()] == seqs + [seqs[-1] + 1]
    _ok(dev)


def test_other_geometry_records_rejected():
    dev = _dev(4096, 10)
    q = RingQueue(dev, 0, 10, capacity=100, max_item=300)
    for i in range(40):
        q.append(_data(i, 100))
    q.ack(3)
    q2 = RingQueue(dev, 0, 9, capacity=100, max_item=300)  # the partition was re-split
    assert len(q2) == 0 and q2.corrupt > 0 and q2.peek() is None
    assert q2.append(b"fresh") >= 1 and q2.peek()[1] == b"fresh"
    _ok(dev)


def test_stats_and_erases_per_append():
    dev = _dev(4096, 6)
    q = RingQueue(dev, 0, 6, capacity=1000, max_item=5184)
    for i in range(320):
        q.append(_data(i, 100))  # one 128-byte record each: 32 per sector
    st = q.stats()
    assert st["erases"] == dev.erases == 10 and st["programs"] == dev.progs == 320
    assert st["sectors"] == 4 and st["record_size"] == 128
