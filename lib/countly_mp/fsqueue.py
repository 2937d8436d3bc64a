# fsqueue.py - persistent FIFO of byte strings for flash (LittleFS), same code on CPython.
#
# Why this shape: LittleFS files are CTZ skip-lists, so writing at offset k rewrites every
# block from k to EOF. A big ring file with in-place slots is the worst case; append-only
# files of at most one erase block are the best case. So:
#
#   DIR/sXXXXXXXX  segment: hex segment number, append-only, at most `per` records
#                  of record_size bytes (per = block_size // record_size, <= 255)
#   DIR/c0, c1     cursor: the acked seq, two slots written alternately
#
# The byte formats of records and cursors are in fsformat.py. An item of nparts records is
# written with one write() into one segment (items never span segments), so on LittleFS an
# item is atomic. The segments are the truth; the cursor is a hint that may lag behind them.

import os
import errno

from .fsformat import HSZ as _HSZ
from .fsformat import check_record, encode_item, read_cursor, write_cursor
from .store import makedirs

_ENOSPC = getattr(errno, "ENOSPC", 28)  # MicroPython's errno may lack it; 28 everywhere
# Index entry (a list, cheaper than an object on MicroPython):
_NO = 0  # segment number
_FIRST = 1  # first item seq
_LAST = 2  # last complete item seq
_USED = 3  # records in the file
_CLOSED = 4  # never append again (full, torn tail, or failed write)


class FsQueue:
    def __init__(self, dirpath, capacity=1000, record_size=128, block_size=4096, fs=None,
                 max_item=None):
        if record_size < 32 or record_size > block_size:
            raise ValueError("record_size")
        self.capacity = capacity
        self.dropped = 0
        self.corrupt = 0
        self._rs = record_size
        self._pay = record_size - _HSZ
        self._per = min(block_size // record_size, 255)  # nparts is a u8
        # An item larger than a segment gets a segment of its own (still one write).
        self._maxk = max(self._per, min(255, ((max_item or 0) + self._pay - 1) // self._pay))
        self.max_item = self._maxk * self._pay
        self._fs = os if fs is None else fs
        self._open = open if fs is None else fs.open
        d = dirpath
        while len(d) > 1 and d[-1] == "/":
            d = d[:-1]
        self._dir = d
        self._pre = d if d[-1] == "/" else d + "/"
        # One record buffer reused for every read: no per-record allocation.
        self._buf = bytearray(record_size)
        self._mv = memoryview(self._buf)
        self._segs = []
        self._acked = 0
        self._cslot = 0
        self._nseg = 1
        self._next = 1
        self._n = 0
        self._hint = None  # (segno, offset): nothing live lies before it
        makedirs(self._dir, self._fs)
        self._load()

    # ---- paths and small helpers

    def _path(self, segno):
        return self._pre + ("s%08x" % segno)

    def _rec(self, f, off):
        # Read and validate one record into the shared buffer; header tuple or None.
        f.seek(off)
        if f.readinto(self._buf) != self._rs:
            return None
        return check_record(self._buf, self._mv, self._pay)

    def _item_at(self, f, off, used, after, want):
        # Next complete item with seq > after at or beyond byte offset off.
        # Returns (seq, data or None, start, end) or None. Broken items are skipped.
        rs = self._rs
        pay = self._pay
        end = used * rs
        while off < end:
            h = self._rec(f, off)
            if h is None or h[1] != 0:
                off += rs  # resync on the next record
                continue
            np = h[2]
            seq = h[3]
            tot = h[4]
            if seq <= after:
                off += rs * np
                continue
            if want is True:
                out = bytearray(tot)
            elif want:
                if tot > len(want):
                    raise ValueError("item larger than the buffer")
                out = want  # peek_into: straight into the caller's buffer
            else:
                out = None
            start = off
            j = 0
            while j < np:
                if j:
                    h = self._rec(f, off)
                    if h is None or h[1] != j or h[2] != np or h[3] != seq:
                        break
                if want:
                    p = j * pay
                    n = min(pay, tot - p)
                    out[p : p + n] = self._mv[_HSZ : _HSZ + n]
                off += rs
                j += 1
            if j == np:
                return (seq, (bytes(out) if want is True else tot) if want else None, start,
                        off)
        return None

    # ---- recovery

    def _read_cursor(self, slot):
        return read_cursor(self._open, self._pre + "c%d" % slot)

    def _scan_seg(self, segno):
        # Index one segment by reading its first and last record only; fall back to a full
        # scan (headers + crc, no payload kept) when either is damaged.
        p = self._path(segno)
        try:
            size = self._fs.stat(p)[6]
            f = self._open(p, "rb")
        except OSError:
            return None
        rs = self._rs
        used = size // rs
        closed = size % rs != 0 or used >= self._per
        first = last = None
        try:
            if used:
                a = self._rec(f, 0)
                if a is not None and a[1] == 0:
                    first = a[3]
                    z = self._rec(f, (used - 1) * rs)
                    if z is not None and z[1] == z[2] - 1 and z[3] >= first:
                        last = z[3]
            if last is None:
                closed = True  # damaged or torn tail: appending after it is unsafe
                first = None
                off = 0
                while True:
                    r = self._item_at(f, off, used, -1, False)
                    if r is None:
                        break
                    if first is None:
                        first = r[0]
                    last = r[0]
                    off = r[3]
        finally:
            f.close()
        if first is None:
            return None
        return [segno, first, last, used, closed]

    def _load(self):
        best = None
        for slot in (0, 1):
            v = self._read_cursor(slot)
            if v is not None and (best is None or v > best):
                best = v
                self._cslot = slot ^ 1  # next write goes to the other slot
        self._acked = best or 0
        nos = []
        for name in self._fs.listdir(self._dir):
            if len(name) == 9 and name[0] == "s":
                try:
                    nos.append(int(name[1:], 16))
                except ValueError:
                    pass
        nos.sort()
        for no in nos:
            self._nseg = no + 1
            s = self._scan_seg(no)
            if s is None:
                self._remove(no)  # no complete item in it: garbage from a cut
                continue
            if self._segs:
                self._segs[-1][_CLOSED] = True  # only the newest segment is appended to
                if s[_FIRST] <= self._segs[-1][_LAST]:
                    continue  # out of order (corrupt): ignore rather than reorder
            self._segs.append(s)
        if self._segs:
            self._next = max(self._acked, self._segs[-1][_LAST]) + 1
        else:
            self._next = self._acked + 1
        self._gc(True)
        self._count()
        # Drops by the cap are not persisted (it would cost a cursor write per append),
        # so enforce the cap again here. Not counted in .dropped: the old object did.
        while self._n > self.capacity:
            self._drop(False)

    # ---- bookkeeping

    def _count(self):
        n = 0
        a = self._acked + 1
        for s in self._segs:
            if s[_LAST] >= a:
                n += s[_LAST] - max(s[_FIRST], a) + 1
        self._n = n

    def _remove(self, segno):
        try:
            self._fs.remove(self._path(segno))
            return True
        except OSError:
            return False

    def _gc(self, may_delete_last):
        # Delete fully acked segments. The newest one is kept unless the cursor is already
        # durable (ack, load): otherwise a reboot could reuse its sequence numbers.
        while self._segs:
            s = self._segs[0]
            if s[_LAST] > self._acked:
                break
            if len(self._segs) == 1 and not (may_delete_last and s[_CLOSED]):
                break
            if not self._remove(s[_NO]):
                break  # retried by a later gc, or at the next load
            self._segs.pop(0)

    def _head(self):
        for s in self._segs:
            if s[_LAST] > self._acked:
                return max(s[_FIRST], self._acked + 1)
        return None

    def _drop(self, count=True):
        h = self._head()
        if h is None:
            return
        self._acked = h
        self._n -= 1
        if count:
            self.dropped += 1
        self._gc(False)

    def _write_cursor(self):
        write_cursor(self._open, self._pre + "c%d" % self._cslot, self._acked)
        self._cslot ^= 1  # only after success: a torn slot is rewritten, the good one kept

    # ---- public API

    def __len__(self):
        return self._n

    def append(self, data):
        if isinstance(data, str):
            data = data.encode()
        n = len(data)
        rs = self._rs
        pay = self._pay
        k = (n + pay - 1) // pay or 1
        if k > self._maxk:
            raise ValueError("item too large")
        while self._n >= self.capacity and self._n > 0:
            self._drop()
        seq = self._next
        buf = encode_item(data, seq, k, rs, pay)
        retry = True
        while True:
            t = self._segs[-1] if self._segs else None
            if t is None or t[_CLOSED] or t[_USED] + k > self._per:
                if t is not None:
                    t[_CLOSED] = True
                seg = [self._nseg, seq, seq, 0, False]
                self._nseg += 1
            else:
                seg = t
            try:
                f = self._open(self._path(seg[_NO]), "ab")
                try:
                    f.write(buf)
                    f.flush()
                finally:
                    f.close()
                break
            except OSError as e:
                # The file may now end in a torn record: never append to it again, and
                # never reuse seq (the item may have landed after all).
                seg[_CLOSED] = True
                self._next = seq + 1
                if retry and e.args and e.args[0] == _ENOSPC and len(self._segs) > 1:
                    # Flash full: sacrifice the oldest segment (counted as dropped), retry once.
                    retry = False
                    s = self._segs[0]
                    while self._segs and self._segs[0] is s and self._n > 0:
                        self._drop()
                    continue
                raise
        if seg is not t:
            self._segs.append(seg)
        seg[_LAST] = seq
        seg[_USED] += k
        if seg[_USED] >= self._per:
            seg[_CLOSED] = True
        self._next = seq + 1
        self._n += 1
        return seq

    def _next_item(self, after, want, pos):
        # (segno, seq, data, start, end) of the first complete item with seq > after,
        # starting at pos = (segno, offset) when given.
        for s in self._segs:
            if s[_LAST] <= after:
                continue
            off = 0
            if pos is not None:
                if s[_NO] < pos[0]:
                    continue
                if s[_NO] == pos[0]:
                    off = pos[1]
            try:
                f = self._open(self._path(s[_NO]), "rb")
            except OSError:
                continue
            try:
                r = self._item_at(f, off, s[_USED], after, want)
            finally:
                f.close()
            if r is not None:
                return (s[_NO], r[0], r[1], r[2], r[3])
        return None

    def peek(self):
        if self._n == 0:
            return None
        r = self._next_item(self._acked, True, self._hint)
        if r is None:
            # The count covered records a cut left broken: no complete item is left to read,
            # so the queue is empty, whatever the sequence ranges said.
            self._n = 0
            return None
        self._hint = (r[0], r[3])
        return (r[1], r[2])

    def peek_into(self, buf):
        # The oldest item copied into buf (a writable buffer): -> (seq, length) or None. No
        # allocation the size of the item, whatever its size.
        if self._n == 0:
            return None
        r = self._next_item(self._acked, buf, self._hint)
        if r is None:
            self._n = 0
            return None
        self._hint = (r[0], r[3])
        return (r[1], r[2])

    def items(self, after=None, limit=None):
        # Opens the segment per item so no file stays open while the caller holds the
        # generator; do not append/ack while iterating.
        pos = self._hint
        if after is None or after < self._acked:
            after = self._acked
        else:
            pos = None
        n = 0
        while limit is None or n < limit:
            r = self._next_item(after, True, pos)
            if r is None:
                return
            after = r[1]
            pos = (r[0], r[4])
            n += 1
            yield (r[1], r[2])

    def peek_last(self):
        for s in reversed(self._segs):
            if s[_LAST] <= self._acked:
                return None
            try:
                f = self._open(self._path(s[_NO]), "rb")
            except OSError:
                continue
            try:
                off = 0
                last = None
                while True:
                    r = self._item_at(f, off, s[_USED], self._acked, False)
                    if r is None:
                        break
                    last = r[2]
                    off = r[3]
                if last is not None:
                    r = self._item_at(f, last, s[_USED], self._acked, True)
                    if r is not None:
                        return (r[0], r[1])
            finally:
                f.close()
        return None

    def ack(self, seq):
        if not self._segs or seq <= self._acked:
            return
        if seq > self._segs[-1][_LAST]:
            seq = self._segs[-1][_LAST]  # never acknowledge what does not exist yet
        if seq <= self._acked:
            return
        self._acked = seq
        self._write_cursor()  # before deleting: segments must never be ahead of the cursor
        self._gc(True)
        self._count()

    def drop_oldest(self):
        # Drops the oldest segment's waiting items (at least one): frees a file's space.
        if self._n == 0:
            return 0
        before = self._n
        s = self._segs[0] if self._segs else None
        while self._n > 0 and self._segs and self._segs[0] is s:
            self._drop()
        if self._n == before:
            self._drop()
        self._write_cursor()
        self._gc(True)
        return before - self._n

    def close(self):
        self._segs = []
        self._n = 0
