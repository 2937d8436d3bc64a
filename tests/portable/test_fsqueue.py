# test_fsqueue.py - FsQueue's own behaviour, beyond the contract (test_queue_contract.py): its
# files, what it does on failed writes, what opening reads, its heap. On a host directory
# and on real LittleFS. Plain test_* functions: pytest on CPython, mp_runner on MicroPython.

import gc
import os
import sys

from countly_mp.fsqueue import FsQueue
from fakes import tmpdir
from ramblock import Disk

MP = sys.implementation.name == "micropython"


def _data(i, n):
    b = bytearray(n)
    for j in range(n):
        b[j] = (i * 31 + j * 7) & 0xFF
    return bytes(b)


def _seqs(q):
    return [s for s, _ in q.items()]


def _fails(code, fn, *args):
    try:
        fn(*args)
    except OSError as e:
        assert e.args[0] == code, e
        return
    raise AssertionError("expected OSError %d" % code)


class Spy:
    # os-like: host files through os/open, with the calls it saw, and faults on demand:
    # fail = (errno, "open" | "write" | "torn", path substring): the next such call fails
    # ("torn": half the bytes land first, as on a host disk; "write": nothing lands, as on
    # LittleFS).
    def __init__(self):
        self.calls = []
        self.fail = None

    def _hit(self, where, p):
        f = self.fail
        if f and (f[1] == where or f[1] == "torn" and where == "write") and f[2] in p:
            self.fail = None
            return f
        return None

    def open(self, p, mode="r"):
        self.calls.append(("open", p.rsplit("/", 1)[1], mode))
        f = self._hit("open", p) if "r" not in mode else None
        if f:
            raise OSError(f[0])
        return _SpyFile(open(p, mode), self, p)

    def listdir(self, p):
        return os.listdir(p)

    def mkdir(self, p):
        os.mkdir(p)

    def remove(self, p):
        self.calls.append(("remove", p.rsplit("/", 1)[1]))
        os.remove(p)

    def rename(self, a, b):
        self.calls.append(("rename", a.rsplit("/", 1)[1], b.rsplit("/", 1)[1]))
        os.rename(a, b)

    def stat(self, p):
        return os.stat(p)


class _SpyFile:
    def __init__(self, f, spy, path):
        self.f = f
        self.spy = spy
        self.path = path

    def write(self, b):
        f = self.spy._hit("write", self.path)
        if f:
            if f[1] == "torn":
                self.f.write(bytes(b)[: len(b) // 2])
                self.f.flush()
            raise OSError(f[0])
        return self.f.write(b)

    def read(self, n=-1):
        return self.f.read(n)

    def readinto(self, b):
        self.spy.calls.append(("readinto", self.path.rsplit("/", 1)[1]))
        return self.f.readinto(b)

    def seek(self, o, w=0):
        return self.f.seek(o, w)

    def flush(self):
        return self.f.flush()

    def close(self):
        return self.f.close()


def _host(**kw):
    d = tmpdir("fsq") + "/q"
    return d, FsQueue(d, **kw)


def test_fifo_sizes_and_reopen_on_host_and_littlefs():
    sizes = (0, 1, 111, 112, 113, 300, 1000, 4096, 5184)
    disk = Disk(4096, 32, tmpdir("flash") + "/image")
    disk.format()
    fs, root = disk.mount()
    try:
        for d, opener in ((tmpdir("fsq") + "/q", lambda d: FsQueue(d)),
                          (root + "/q", lambda d: FsQueue(d, fs=fs))):
            q = opener(d)
            seqs = [q.append(_data(i, n)) for i, n in enumerate(sizes)]
            assert seqs == list(range(1, len(sizes) + 1))
            q.ack(3)
            q = opener(d)  # a reboot: the old object is abandoned
            got = list(q.items())
            assert [s for s, _ in got] == seqs[3:]
            assert [b for _, b in got] == [_data(i, n) for i, n in enumerate(sizes)][3:]
            assert q.peek_last() == (seqs[-1], _data(8, 5184)) and q.corrupt == 0
            assert q.append(b"next") == seqs[-1] + 1
    finally:
        disk.unmount()


def test_files_records_sealing_and_consumed_tails():
    d, q = _host(segment_size=2048, max_item=1000)
    q.append(_data(0, 100))
    names = os.listdir(d)
    assert names == ["t00000001"]  # no cursor before the first ack
    # A record costs its payload + 16 bytes, a segment 20 more: 120 + 2 * 116 = 352
    q.append(_data(1, 100))
    q.append(_data(2, 100))
    assert os.stat(d + "/t00000001")[6] == 20 + 3 * 116
    for i in range(3, 20):
        q.append(_data(i, 100))
    sealed = sorted(os.listdir(d + "/s"))
    assert sealed[0] == "0000000100000011"  # 17 records of 116 bytes fill 2048
    assert sorted(os.listdir(d)) == ["s", "t00000012"]
    q.ack(5)
    assert sorted(os.listdir(d)) == ["c0", "c1", "s", "t00000012"]
    assert os.stat(d + "/c0")[6] == 20 and open(d + "/c0", "rb").read() == open(
        d + "/c1", "rb").read()
    q.ack(0x11)  # the sealed segment is consumed: deleted
    assert os.listdir(d + "/s") == []
    q.ack(20)  # the queue is empty: its tail goes too
    assert sorted(os.listdir(d)) == ["c0", "c1", "s"]
    assert q.append(b"x") == 21 and sorted(os.listdir(d)) == ["c0", "c1", "s", "t00000015"]


def test_small_littlefs_seals_in_place_with_small_segments():
    # Below 128 blocks no s/ directory (two blocks) and segments of 1/32 of the filesystem.
    disk = Disk(4096, 64, tmpdir("flash") + "/image")
    disk.format()
    fs, root = disk.mount()
    try:
        q = FsQueue(root + "/q", fs=fs)
        for i in range(30):
            q.append(_data(i, 500))
        names = sorted((os if fs is None else fs).listdir(root + "/q"))
        assert "s" not in names and names[0].startswith("s0000000100000")
        assert names[-1][0] == "t" and len([n for n in names if n[0] == "s"]) == 1
        q = FsQueue(root + "/q", fs=fs)
        assert _seqs(q) == list(range(1, 31)) and q.drop_oldest() == 15
    finally:
        disk.unmount()


def test_cursor_is_written_in_place_never_truncated():
    spy = Spy()
    d = tmpdir("fsq") + "/q"
    q = FsQueue(d, fs=spy)
    for i in range(10):
        q.append(_data(i, 50))
    for s in (2, 4, 6):
        q.ack(s)
    opens = [c for c in spy.calls if c[0] == "open" and c[1] in ("c0", "c1") and c[2] != "rb"]
    # created once each ("wb" after "r+b" finds nothing), then always overwritten in place
    assert [m for _, _, m in opens] == ["r+b", "wb", "r+b", "wb"] + ["r+b"] * 4


def test_torn_tail_on_host_is_counted_sealed_and_never_appended_to():
    d, q = _host()
    for i in range(3):
        q.append(_data(i, 200))
    q = None
    tail = d + "/t00000001"
    size = os.stat(tail)[6]
    with open(tail, "ab") as f:
        f.write(b"\xc5\x51\x01\x00\x04\x00\x00\x00" + b"\x00" * 30)  # half a record (a cut)
    q = FsQueue(d)
    assert _seqs(q) == [1, 2, 3] and q.corrupt == 1
    # No seq the damaged tail could have held is handed out again (records take 16+ bytes).
    s = q.append(_data(9, 300))
    assert s == 1 + (size + 38 - 20) // 16
    assert os.stat(d + "/s/0000000100000003")[6] == size + 38  # sealed as it was
    got = list(FsQueue(d).items())
    assert [x for x, _ in got] == [1, 2, 3, s] and got[3][1] == _data(9, 300)


def test_full_storage_raises_enospc_with_nothing_changed():
    spy = Spy()
    d = tmpdir("fsq") + "/q"
    q = FsQueue(d, fs=spy)
    s1 = q.append(b"a" * 100)
    names = sorted(os.listdir(d))
    for code, where in ((28, "write"), (36, "write"), (122, "write"), (36, "open")):
        # 36: LittleFS's NAMETOOLONG when a full directory cannot take a new name
        spy.fail = (code, where, "/t")
        _fails(28, q.append, b"b" * 100)
        assert _seqs(q) == [s1] and len(q) == 1 and sorted(os.listdir(d)) == names
    assert os.stat(d + "/t00000001")[6] == 20 + 116
    s2 = q.append(b"b" * 100)  # the same tail, and the seq the failures did not use
    assert s2 == 2 and os.stat(d + "/t00000001")[6] == 20 + 2 * 116
    # A new tail that cannot be written is removed again: no empty file left behind.
    q._room = 20 + 2 * 116
    spy.fail = (28, "write", "/t")
    _fails(28, q.append, b"c" * 100)
    assert sorted(os.listdir(d)) == ["s"] and os.listdir(d + "/s") == ["0000000100000002"]
    # Half a record landed before the failure (a host disk): that tail is sealed below it
    # and the seq used up.
    s3 = q.append(b"d" * 100)
    spy.fail = (28, "torn", "/t")
    _fails(28, q.append, b"e" * 100)
    assert sorted(os.listdir(d + "/s")) == ["0000000100000002", "0000000300000003"]
    s4 = q.append(b"f")
    assert s4 == s3 + 2 and _seqs(FsQueue(d)) == [s1, s2, s3, s4]


def test_device_error_uses_the_seq_and_writes_nothing_more():
    spy = Spy()
    d = tmpdir("fsq") + "/q"
    q = FsQueue(d, fs=spy)
    for i in range(3):
        q.append(_data(i, 300))
    spy.fail = (5, "torn", "/t")
    n = len(spy.calls)
    _fails(5, q.append, _data(3, 300))
    assert [c for c in spy.calls[n:] if c[0] in ("remove", "rename")] == []
    assert len(q) == 3
    assert q.append(_data(4, 300)) == 5  # seq 4 may have landed, torn: never handed out
    assert q.append(_data(5, 50)) == 6
    want = [(1, _data(0, 300)), (2, _data(1, 300)), (3, _data(2, 300)),
            (5, _data(4, 300)), (6, _data(5, 50))]
    assert list(q.items()) == want
    q = FsQueue(d)
    assert list(q.items()) == want and q.corrupt == 1  # the torn half of seq 4, counted


def test_ack_that_cannot_be_persisted_changes_nothing():
    spy = Spy()
    d = tmpdir("fsq") + "/q"
    q = FsQueue(d, fs=spy)
    for i in range(5):
        q.append(_data(i, 100))
    q.ack(1)
    spy.fail = (5, "write", "/c1")
    _fails(5, q.ack, 3)
    assert len(q) == 4 and q.peek()[0] == 2
    q.ack(3)  # the caller retries later
    assert _seqs(FsQueue(d)) == [4, 5]


def test_one_damaged_cursor_slot_loses_nothing_both_fall_back_to_evidence():
    d, q = _host(segment_size=1024, max_item=300)
    for i in range(30):
        q.append(_data(i, 200))
    q.ack(12)
    q.ack(17)
    for i in range(10):  # a new segment starts after the acks: its header says 17
        q.append(_data(i, 200))
    q = None
    with open(d + "/c1", "wb") as f:
        f.write(b"garbage!")
    q = FsQueue(d)
    assert q.peek()[0] == 18 and q.corrupt == 1  # c0 has it all
    q.ack(22)  # the segment of 17..20 is consumed and deleted
    q = None
    os.remove(d + "/c0")
    os.remove(d + "/c1")
    q = FsQueue(d)
    # Both gone: what was acked when the newest segment was made (17). Of the items acked
    # since, those still stored (21, 22) come again; never older ones.
    assert q.peek()[0] == 21 and len(q) == 20


def test_a_missing_segment_is_counted():
    d, q = _host(segment_size=1024, max_item=300)
    for i in range(30):
        q.append(_data(i, 200))
    q.ack(2)
    sealed = sorted(os.listdir(d + "/s"))
    q = None
    os.remove(d + "/s/" + sealed[1])
    q = FsQueue(d)
    assert q.corrupt == 0
    got = _seqs(q)
    a, z = int(sealed[1][:8], 16), int(sealed[1][8:], 16)
    assert got == [s for s in range(3, 31) if not a <= s <= z]
    assert q.corrupt == 1 and len(q) == len(got)


def test_open_reads_cursors_and_the_tail_only():
    d, q = _host(segment_size=1024, max_item=300)
    for i in range(200):
        q.append(b"e%04d" % i + b"." * 100)
    q.ack(10)
    spy = Spy()
    q = FsQueue(d, fs=spy, max_item=300)
    opened = sorted(set(c[1] for c in spy.calls if c[0] == "open"))
    assert opened == ["c0", "c1", sorted(os.listdir(d))[-1]], opened
    assert len(q) == 190 and q.peek()[1].startswith(b"e0010")
    assert q.peek_last()[1].startswith(b"e0199")


def test_heap_of_append_peek_ack_cycle():
    disk = Disk(4096, 32, tmpdir("flash") + "/image")
    disk.format()
    fs, root = disk.mount()
    try:
        q = FsQueue(root + "/q", capacity=100, fs=fs)
        data = _data(1, 500)
        for _ in range(5):
            q.append(data)
        gc.collect()
        if MP:
            gc.disable()  # everything allocated in the cycle stays counted
            a0 = gc.mem_alloc()
            s = q.append(data)
            seq, d = q.peek()
            q.ack(seq)
            used = gc.mem_alloc() - a0
            gc.enable()
        else:
            import tracemalloc

            tracemalloc.start()
            s = q.append(data)
            seq, d = q.peek()
            q.ack(seq)
            used = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        print("fsqueue heap, append+peek+ack of 500 B: %d B (%s)"
              % (used, sys.implementation.name))
        assert d == data and s > seq
        assert used < 6000
    finally:
        disk.unmount()
