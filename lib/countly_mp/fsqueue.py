# fsqueue.py - persistent FIFO of byte strings on LittleFS (or any host filesystem): the queue
# contract of docs/internals.md. Same code on CPython and MicroPython.
#
# Layout (byte formats in fsformat.py; reading in fsseg.py, opening in fsopen.py):
#   DIR/c0, DIR/c1    cursor: the acked seq and the newest item's seq. Both slots written on
#                     every ack, in place ("r+b", no truncation first): one damaged slot, or
#                     one torn by a cut between the two writes, loses nothing.
#   DIR/tFIRST        the tail segment, the one file appended to, kept open between appends
#   DIR/s/FIRSTLAST   sealed segments (hex seqs): tails that were full or failed, renamed,
#                     never written again. s/ (two blocks of metadata) is made at the first
#                     seal; below 128 blocks they stay in DIR as sFIRSTLAST.
# A segment holds whole items of consecutive seqs; an item is one write + flush to one file,
# which LittleFS makes atomic. The segments are the truth, the cursor says how far they are
# consumed; a segment is deleted only once the cursor holds its last seq, and an empty queue
# keeps no segment. A tail is sealed (or deleted, when consumed) once the next item would take
# it past the segment size: 4 blocks (16 KiB), or 1/32 of a smaller filesystem.
#
# Why this shape (LittleFS in VfsLfs2's configuration; tools/bench_queue.py, min/median/max
# of 3 runs, requests of 300-600 B): enqueue time at depth 1000 / depth 0 is 1.18/1.20/1.22
# on CPython and 1.11/1.13/1.15 on MicroPython (one file per 8 requests in one directory, as
# before: 3.1-3.7 and 3.8-4.4), at depth 5000 1.08/1.33/1.36 and 1.65/1.79/1.82 (5.7, 6.2).
# - littlefs copies a file's last block on every durable append and commits the file's size
#   to its directory's metadata log: one erase per append is the floor above 128 bytes (1.09
#   measured; 1.06 per append+peek+ack). A full log is compacted at a cost that grows with the
#   entries in that directory block, and path lookups read them. So the file appended to lives
#   in a directory of four entries whatever the depth; the entries that grow with depth are in
#   s/, which gets one commit per sealed segment and one per deleted one.
# - 16 KiB segments keep s/ at one entry per ~35 requests, so its compactions and littlefs's
#   allocator scan stay small. What is left growing with depth is that scan: once per
#   lookahead window (256 blocks) littlefs walks every directory and every file's blocks to
#   find free ones, which costs more the more is stored and comes more often as free blocks
#   get fewer. littlefs keeps no free-block map, so no file layout avoids it.
# - The price: drop_oldest() frees a whole segment, up to 16 KiB of the oldest items.
# Both cursor slots lost at once (the residual risk; fsseg.load has the evidence used): the
# items acked since the newest segment was created, and still stored, are sent again.

import binascii
import os
import struct

from .compat import call_cold, const, is_missing
from .fsformat import as_nospc, is_nospc, pack_rec, stamp
from .fsseg import Reader, lost, walk
from .store import Reserve, close_quietly, makedirs, remove_quietly

_MAX_ITEM = const(5184)  # one request of the request budget and its flag line
_FIRST = const(0)  # segment fields, as in fsseg.py
_LAST = const(1)
_PATH = const(2)
_SIZE = const(3)
_SEEN = const(4)
_LOST = const(5)
_LOFF = const(6)
_HEAD = const(7)
_OVER = const(16)  # record overhead, stamp (fsformat.py)
_SSZ = const(20)


class FsQueue:
    def __init__(self, dirpath, capacity=1000, record_size=128, block_size=4096, fs=None,
                 max_item=None, reserve=None, segment_size=None):
        # record_size: accepted from callers of the old fixed-record format, no longer used.
        self.capacity = capacity
        self.dropped = 0
        self.max_item = _MAX_ITEM if max_item is None else max_item
        self._fs = os if fs is None else fs
        self._open = open if fs is None else fs.open
        d = self._dir = dirpath.rstrip("/") or "/"
        makedirs(d, self._fs)
        # Sealed segments go to DIR/s/, or stay in DIR as sFIRSTLAST on a filesystem of fewer
        # than 128 blocks, where s/'s two blocks would be dear and the depth small anyway.
        # Segments of 4 blocks, or 1/32 of a small filesystem: drop_oldest() frees a whole
        # segment, which on a 64 KiB flash must not be a quarter of it.
        blocks = 1 << 20
        try:
            st = self._fs.statvfs(d)
            blocks = st[1] * st[2] // block_size
        except (AttributeError, OSError):
            pass
        self._sp = d + ("/s" if blocks < 128 else "/s/")
        segment_size = segment_size or max(1, min(4, blocks // 32)) * block_size
        self._room = max(segment_size, _SSZ + _OVER + self.max_item)  # room for any item
        self._rd = Reader(self._room)
        self._segs = []
        self._tail = None  # the segment appended to (the last of _segs), or None
        self._tf = None  # its open file
        self._n = 0
        self._acked = 0
        self._dur = 0  # the acked seq the cursor holds
        # (FIRST, offset, prev, end): records from offset on have seq > prev; end: where the
        # item peek() returned (seq prev + 1) ends, 0 when none was peeked there.
        self._hint = None
        self._rsv = reserve  # None: the parent folder's, looked up when storage is full
        call_cold("fsopen", "load", self)  # opening: fsopen.py, not kept loaded

    @property
    def corrupt(self):
        return self._rd.corrupt

    def __len__(self):
        return self._n

    def _count(self):
        n = 0
        a = self._acked + 1
        for s in self._segs:
            lo = max(s[_FIRST], a)
            if s[_LAST] >= lo:
                n += s[_LAST] - lo + 1 - lost(s, lo, s[_LAST])
        self._n = n

    def _set_acked(self, seq):
        self._acked = seq
        h = self._hint
        if h is not None and h[3] and h[2] < seq:
            self._hint = (h[0], h[3], h[2] + 1, 0)  # the next read starts after the acked item
        self._count()

    def _drop_one(self, count):
        # The cap: the oldest whole item goes, in memory only.
        a = self._acked + 1
        for s in self._segs:
            seq = max(s[_FIRST], a)
            while seq <= s[_LAST]:
                if not lost(s, seq, seq):
                    self._set_acked(seq)
                    if count:
                        self.dropped += 1
                    self._gc()
                    return
                seq += 1
        self._n = 0

    def _gc(self, tail=False):
        # Deletes consumed segments, each only once the cursor holds its last seq: a segment
        # never goes missing unexplained (a restart tells a deleted file from a consumed one)
        # and its seqs are never handed out again. The tail only when asked: space is wanted,
        # or it is full.
        freed = False
        while self._segs:
            s = self._segs[0]
            if s[_LAST] > self._acked or s is self._tail and not tail:
                break
            if s[_LAST] > self._dur:  # consumed by the cap, in memory only so far
                try:
                    self._put_cursor(self._acked)
                except OSError as e:
                    if not is_nospc(e):
                        raise
                    break
            if s is self._tail:
                self._close_tail()
                self._tail = None
            if not remove_quietly(self._fs, s[_PATH]):
                break  # storage full: retried by a later gc or at the next open
            self._segs.pop(0)
            if self._hint is not None and self._hint[0] == s[_FIRST]:
                self._hint = None
            freed = True
        if freed and self._rsv is not None:
            self._rsv.ensure()

    def _close_tail(self):
        if self._tf is not None:
            close_quietly(self._tf)
            self._tf = None

    def _seal(self):
        # The tail takes no more items: closed, then renamed sealed. When the rename fails
        # (raised) it stays closed where it is, is read there, and is renamed at the next open.
        t = self._tail
        self._close_tail()
        self._tail = None
        if t[_SIZE] < 0:
            t[_SIZE] = -1 - t[_SIZE]
        path = self._sp + "%08x%08x" % (t[_FIRST], t[_LAST])
        try:
            self._fs.rename(t[_PATH], path)
        except OSError as e:
            if not is_missing(e):
                raise
            self._fs.mkdir(self._dir + "/s")  # the first seal
            self._fs.rename(t[_PATH], path)
        t[_PATH] = path

    def _put_cursor(self, acked):
        # Both slots, in place ("r+b"): a full disk cannot lose the old value to a truncation
        # first. Full storage: the reserve is given up once for it, then OSError(ENOSPC).
        b = stamp(b"CQC2", acked, self._segs[-1][_LAST] if self._segs else acked)
        for i in (0, 1):
            p = self._dir + "/c%d" % i
            retry = True
            while True:
                f = None
                try:
                    try:
                        f = self._open(p, "r+b")
                    except OSError as e:
                        if not is_missing(e):
                            raise
                        f = self._open(p, "wb")
                    f.seek(0)
                    f.write(b)
                    f.flush()
                    f.close()
                    break
                except OSError as e:
                    if f is not None:
                        close_quietly(f)
                    self._rsv = self._rsv or Reserve(self._dir.rsplit("/", 1)[0] or "/",
                                                     None if self._fs is os else self._fs)
                    if not (retry and is_nospc(e) and self._rsv.release()):
                        raise as_nospc(e)
                    retry = False
        self._dur = acked

    def _put(self, seq, data):
        t = self._tail
        f = self._tf
        h = self._rd.h  # the reader's buffer: reading and writing never overlap
        pack_rec(h, seq, len(data))
        try:
            if t is None:
                path = self._dir + "/t%08x" % seq
                f = self._open(path, "wb")
                f.write(stamp(b"CQS2", seq, self._acked,
                              self._segs[-1][_LAST] if self._segs else self._acked))
            elif f is None:
                f = self._open(t[_PATH], "ab")
            self._tf = f
            f.write(h)
            f.write(data)
            struct.pack_into("<I", h, 0, binascii.crc32(data, binascii.crc32(h)))
            f.write(memoryview(h)[0:4])
            f.flush()
        except OSError as e:
            # Never written through this handle again (littlefs leaves it in an error state).
            # Storage full and the file as it was (littlefs writes nothing or all): nothing
            # happened, the seq stays unused, a new tail is removed (no empty file left
            # behind), an old one is appended to again. Else the seq is used up (the item may
            # have landed, torn or whole) and the tail sealed below its last item (storage
            # full), or just closed: after a failing device's error nothing more is written.
            self._close_tail()
            if t is None:
                if is_nospc(e):
                    remove_quietly(self._fs, path)
                    raise
            else:
                try:
                    same = is_nospc(e) and self._fs.stat(t[_PATH])[6] == t[_SIZE]
                except OSError:
                    same = False
                if same:
                    raise
                if is_nospc(e):
                    try:
                        self._seal()
                    except OSError:
                        pass
            self._tail = None
            self._next = seq + 1
            raise
        if t is None:
            t = [seq, seq, path, _SSZ, 0, None, -1, 1]  # a segment, fields as in fsseg.py
            self._segs.append(t)
            self._tail = t
        off = t[_SIZE]
        t[_LAST] = seq
        t[_LOFF] = off
        t[_SIZE] = t[_SEEN] = off + _OVER + len(data)

    def append(self, data):
        if isinstance(data, str):
            data = data.encode()
        n = len(data)
        if n > self.max_item:
            raise ValueError("item too large")
        while self._n >= self.capacity and self._n > 0:
            self._drop_one(True)
        seq = self._next
        t = self._tail
        try:
            if t is not None and (t[_LAST] + 1 != seq or t[_SIZE] < 0
                                  or t[_SIZE] + _OVER + n > self._room):
                self._gc(True)  # a consumed tail is deleted rather than sealed
                if self._tail is not None:
                    self._seal()
            self._put(seq, data)
        except OSError as e:
            raise as_nospc(e)
        self._next = seq + 1  # never handed out twice
        self._n += 1
        return seq

    def _find(self, after, read, start):
        # (segment, seq, data, start, end) of the first whole item with seq > after.
        for s in self._segs:
            if s[_LAST] > after:
                off = 0
                prev = s[_FIRST] - 1
                if start is not None and start[0] == s[_FIRST] and start[2] <= after:
                    off = start[1]
                    prev = start[2]
                r = walk(self, s, off, prev, after, read)
                if r is not None:
                    return (s,) + r
        return None

    def peek(self):
        if self._n == 0:
            return None
        r = self._find(self._acked, True, self._hint)
        if r is None:
            self._n = 0  # nothing whole is left to read
            return None
        s, seq, data, start, end = r
        self._hint = (s[_FIRST], start, seq - 1, end)
        return (seq, data)

    def peek_into(self, buf):
        # The oldest item copied into buf (a writable buffer): (seq, length) or None. Nothing
        # the size of the item is allocated, whatever its size.
        if self._n == 0:
            return None
        r = self._find(self._acked, buf, self._hint)
        if r is None:
            self._n = 0
            return None
        s, seq, n, start, end = r
        self._hint = (s[_FIRST], start, seq - 1, end)
        return (seq, n)

    def items(self, after=None, limit=None):
        # Opens the segment per item, so no file stays open while the caller holds the
        # generator. Do not append or ack while iterating.
        a = self._acked if after is None or after < self._acked else after
        where = self._hint
        n = 0
        while limit is None or n < limit:
            r = self._find(a, True, where)
            if r is None:
                return
            s, a, data, start, end = r
            where = (s[_FIRST], end, a)
            n += 1
            yield (a, data)

    def peek_last(self):
        # Run about once per start-up, as opening is: fsopen.py, not kept loaded.
        return call_cold("fsopen", "last", self)

    def ack(self, seq):
        seq = min(seq, self._segs[-1][_LAST] if self._segs else 0)  # only what exists
        if seq > self._acked:
            self._put_cursor(seq)  # raises with nothing changed: the caller retries later
            self._set_acked(seq)
            self._gc(not self._n)  # an empty queue keeps no storage, not even its tail

    def drop_oldest(self):
        a = self._acked + 1
        for s in self._segs:
            lo = max(s[_FIRST], a)
            k = s[_LAST] - lo + 1 - lost(s, lo, s[_LAST]) if s[_LAST] >= lo else 0
            if k > 0:
                self._put_cursor(s[_LAST])
                self._set_acked(s[_LAST])
                self.dropped += k
                self._gc(True)
                return k
        self._gc(True)
        return 0

    def close(self):
        self._close_tail()
        self._segs = []
        self._tail = None
        self._n = 0
