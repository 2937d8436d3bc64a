# test_fsqueue.py - FsQueue behaviour on a host directory and on real LittleFS.
# Plain test_* functions (no pytest import): run by pytest on CPython and by
# tests/mp_runner.py under `micropython -X heapsize=128k`.

import os
import sys
import gc
import binascii

from countly_mp.fsqueue import FsQueue
from fakes import tmpdir
from ramblock import Disk


MP = sys.implementation.name == "micropython"


def _tmpdir():
    if MP:
        d = "/tmp/fsq_" + binascii.hexlify(os.urandom(6)).decode()
        os.mkdir(d)
        return d
    import tempfile

    return tempfile.mkdtemp(prefix="fsq_")


def _rmtree(d):
    try:
        names = os.listdir(d)
    except OSError:
        return
    for n in names:
        p = d + "/" + n
        try:
            os.remove(p)
        except OSError:
            _rmtree(p)
    try:
        os.rmdir(d)
    except OSError:
        pass


def _data(i, n):
    # Deterministic content: index in the first bytes, so a mix-up is visible.
    b = bytearray(n)
    for j in range(n):
        b[j] = (i * 31 + j * 7) & 0xFF
    return bytes(b)


class _Host:
    # Backend: a fresh directory on the host filesystem (os + builtin open).
    def __init__(self):
        self.root = _tmpdir()
        self.dir = self.root + "/q"

    def open(self, **kw):
        return FsQueue(self.dir, **kw)

    def files(self):
        return sorted(os.listdir(self.dir))

    def size(self, name):
        return os.stat(self.dir + "/" + name)[6]

    def raw(self, name, mode):
        return open(self.dir + "/" + name, mode)

    def done(self):
        _rmtree(self.root)


class _Lfs:
    # Backend: real LittleFS on a RAM flash (VfsLfs2 on MicroPython, littlefs-python here).
    def __init__(self, n=10):
        self.disk = Disk(4096, n, tmpdir("flash") + "/image")  # file-backed: off the heap
        self.disk.format()
        self.reboot()

    def reboot(self):
        self.fs, self.dir = self.disk.mount()

    def open(self, **kw):
        return FsQueue(self.dir, fs=self.fs, **kw)

    def _o(self):
        return os if self.fs is None else self.fs

    def files(self):
        return sorted(self._o().listdir(self.dir))

    def size(self, name):
        return self._o().stat(self.dir + "/" + name)[6]

    def raw(self, name, mode):
        p = self.dir + "/" + name
        return open(p, mode) if self.fs is None else self.fs.open(p, mode)

    def done(self):
        self.disk.unmount()


def _backends():
    return (_Host, _Lfs)


def test_fifo_sizes_and_reopen():
    for B in _backends():
        # 3584 B is max_item; reading it needs two 3.5 KiB blocks, which the 40 KiB RAM disk
        # image leaves no room for in a fragmented 128 KiB MicroPython heap.
        sizes = (0, 1, 111, 112, 113, 300, 600, 1000) + (() if MP else (3584,))
        be = B()
        try:
            q = be.open(capacity=50)
            assert len(q) == 0 and q.peek() is None and q.peek_last() is None
            seqs = []
            for i, n in enumerate(sizes):
                seqs.append(q.append(_data(i, n)))
            assert seqs == list(range(1, len(sizes) + 1))
            assert len(q) == len(sizes)
            got = list(q.items())
            assert [s for s, _ in got] == seqs
            for i, (_s, d) in enumerate(got):
                assert d == _data(i, sizes[i])
            assert q.peek() == (1, b"")
            assert q.peek_last() == (seqs[-1], _data(len(sizes) - 1, sizes[-1]))
            assert [s for s, _ in q.items(limit=3)] == [1, 2, 3]
            q.ack(3)
            assert len(q) == len(sizes) - 3 and q.peek()[0] == 4
            q.close()
            if B is _Lfs:
                be.reboot()
            q = be.open(capacity=50)
            assert len(q) == len(sizes) - 3
            got = list(q.items())
            assert [s for s, _ in got] == seqs[3:]
            assert got[0][1] == _data(3, sizes[3])
            assert q.append(b"next") == seqs[-1] + 1  # sequence numbers survive reopen
            for name in be.files():
                assert be.size(name) <= 4096
        finally:
            be.done()


def test_too_large_item_rejected():
    be = _Host()
    try:
        q = be.open()
        assert q.max_item == 32 * 112
        q.append(b"x" * q.max_item)
        try:
            q.append(b"x" * (q.max_item + 1))
            raise AssertionError("expected ValueError")
        except ValueError:
            pass
        assert len(q) == 1
    finally:
        be.done()


def test_cap_drops_oldest_exactly():
    for B in _backends():
        be = B()
        try:
            q = be.open(capacity=7)
            for i in range(20):
                q.append(_data(i, 150 + i * 13))
                assert len(q) == min(i + 1, 7)
            assert q.dropped == 13
            got = list(q.items())
            assert [s for s, _ in got] == list(range(14, 21))
            assert got[0][1] == _data(13, 150 + 13 * 13)
            # Drops are not persisted per append; reopening enforces the cap again.
            q.close()
            q = be.open(capacity=7)
            assert [s for s, _ in q.items()] == list(range(14, 21))
            assert q.dropped == 0
            q = be.open(capacity=3)
            assert [s for s, _ in q.items()] == [18, 19, 20]
            # Only segments holding live items remain on flash.
            segs = [n for n in be.files() if n[0] == "s"]
            assert len(segs) <= 3
        finally:
            be.done()


def test_ack_deletes_segments_and_keeps_seq():
    for B in _backends():
        be = B()
        try:
            q = be.open()
            for i in range(20):
                q.append(_data(i, 500))  # 5 records each, 6 items per segment
            n_before = len([n for n in be.files() if n[0] == "s"])
            assert n_before == 4
            q.ack(14)
            assert len(q) == 6 and q.peek()[0] == 15
            n_after = len([n for n in be.files() if n[0] == "s"])
            assert n_after == 2
            q.ack(1000)  # beyond the newest: acks everything, no more
            assert len(q) == 0 and q.peek() is None
            q.close()
            q = be.open()
            assert len(q) == 0
            assert q.append(b"a") == 21
        finally:
            be.done()


def test_torn_tail_is_ignored_and_not_appended_to():
    be = _Host()
    try:
        q = be.open()
        for i in range(3):
            q.append(_data(i, 200))
        q.close()
        seg = [n for n in be.files() if n[0] == "s"][-1]
        size = be.size(seg)
        f = be.raw(seg, "ab")
        f.write(b"\x51\x46\x00\x02" + b"\x00" * 60)  # half of a record, as after a cut
        f.close()
        q = be.open()
        assert [s for s, _ in q.items()] == [1, 2, 3]
        assert q.append(_data(9, 300)) == 4
        assert be.size(seg) == size + 64  # torn file untouched, new segment used
        q.close()
        q = be.open()
        got = list(q.items())
        assert [s for s, _ in got] == [1, 2, 3, 4] and got[3][1] == _data(9, 300)
    finally:
        be.done()


def test_corrupt_record_skipped_never_raises():
    for B in _backends():
        be = B()
        try:
            q = be.open()
            for i in range(5):
                q.append(_data(i, 250))  # 3 records each
            q.close()
            seg = [n for n in be.files() if n[0] == "s"][0]
            f = be.raw(seg, "rb")
            blob = bytearray(f.read())
            f.close()
            blob[3 * 128 + 128 + 40] ^= 0x55  # inside item 2, second record
            f = be.raw(seg, "wb")
            f.write(blob)
            f.close()
            q = be.open()
            got = list(q.items())
            assert [s for s, _ in got] == [1, 3, 4, 5]
            for s, d in got:
                assert d == _data(s - 1, 250)
            # Corrupt first record: the segment is rescanned, not trusted.
            blob[5] ^= 0xFF
            f = be.raw(seg, "wb")
            f.write(blob)
            f.close()
            q = be.open()
            assert [s for s, _ in q.items()] == [3, 4, 5]
            q.ack(3)
            assert q.peek()[0] == 4
            # Garbage cursor files are ignored.
            for c in ("c0", "c1"):
                f = be.raw(c, "wb")
                f.write(b"garbage!!!")
                f.close()
            q = be.open()
            assert q.peek() is not None
        finally:
            be.done()


def test_cursor_alternates_and_lags_safely():
    be = _Host()
    try:
        q = be.open()
        for i in range(6):
            q.append(_data(i, 100))
        q.ack(2)
        q.ack(4)
        names = be.files()
        assert "c0" in names and "c1" in names
        # Lose the newest cursor slot: the older one is a valid, lagging hint.
        newest = "c1"
        f = be.raw(newest, "wb")
        f.close()
        q = be.open()
        assert [s for s, _ in q.items()] == [3, 4, 5, 6]
    finally:
        be.done()


class _CountingFs:
    # os-like wrapper counting record reads, to prove open() reads headers only.
    def __init__(self):
        self.reads = 0
        self.opens = 0

    def open(self, p, mode="r"):
        self.opens += 1
        return _CountingFile(open(p, mode), self)

    def listdir(self, p):
        return os.listdir(p)

    def stat(self, p):
        return os.stat(p)

    def mkdir(self, p):
        return os.mkdir(p)

    def remove(self, p):
        return os.remove(p)


class _CountingFile:
    def __init__(self, f, c):
        self.f = f
        self.c = c

    def readinto(self, b):
        self.c.reads += 1
        return self.f.readinto(b)

    def read(self, n=-1):
        return self.f.read(n)

    def seek(self, o, w=0):
        return self.f.seek(o, w)

    def write(self, b):
        return self.f.write(b)

    def flush(self):
        return self.f.flush()

    def close(self):
        return self.f.close()


def test_open_with_1000_items_reads_headers_only():
    be = _Host()
    try:
        q = be.open(capacity=1000)
        for i in range(1000):
            q.append(b"e%04d" % i)
        q.ack(10)
        q.close()
        c = _CountingFs()
        q = FsQueue(be.dir, capacity=1000, fs=c)
        nseg = len([n for n in os.listdir(be.dir) if n[0] == "s"])
        assert len(q) == 990
        assert c.reads <= 2 * nseg, (c.reads, nseg)
        assert q.peek() == (11, b"e0010")
        assert q.peek_last() == (1000, b"e0999")
    finally:
        be.done()


def test_heap_of_append_peek_ack_cycle():
    be = _Lfs()
    try:
        q = be.open(capacity=100)
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
        impl = sys.implementation.name
        print("fsqueue heap, append+peek+ack of 500 B: %d B (%s)" % (used, impl))
        assert d == data and s > seq
        assert used < 16000
    finally:
        be.done()


class _FlakyFs(_CountingFs):
    # Host fs whose next write, when armed, lands half its bytes and then fails (EIO).
    def __init__(self):
        _CountingFs.__init__(self)
        self.armed = False

    def open(self, p, mode="r"):
        return _FlakyFile(open(p, mode), self)


class _FlakyFile(_CountingFile):
    def write(self, b):
        if self.c.armed:
            self.c.armed = False
            self.f.write(bytes(b)[: len(b) // 2])
            self.f.flush()
            raise OSError(5)
        return self.f.write(b)


def test_failed_write_in_session_does_not_corrupt_next_append():
    be = _Host()
    try:
        fs = _FlakyFs()
        q = FsQueue(be.dir, fs=fs)
        for i in range(3):
            q.append(_data(i, 300))
        fs.armed = True
        try:
            q.append(_data(3, 300))
            raise AssertionError("expected OSError")
        except OSError:
            pass
        assert len(q) == 3
        s4 = q.append(_data(4, 300))
        s5 = q.append(_data(5, 50))
        assert s4 == 5 and s5 == 6  # the failed item's seq is never reused in-session
        want = [(1, _data(0, 300)), (2, _data(1, 300)), (3, _data(2, 300))]
        want += [(5, _data(4, 300)), (6, _data(5, 50))]
        assert list(q.items()) == want and len(q) == 5
        fs.armed = True
        try:
            q.ack(2)  # cursor write fails: ack may be lost, nothing else
        except OSError:
            pass
        q = FsQueue(be.dir, fs=fs)
        assert list(q.items()) == want and len(q) == 5
        q.ack(3)
        q = FsQueue(be.dir, fs=fs)
        assert list(q.items()) == want[3:] and len(q) == 2
    finally:
        be.done()
