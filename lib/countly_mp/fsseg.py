# fsseg.py - reading fsqueue.py's segment files, damage skipped and counted. Rebuilding a
# queue's state when it is opened is in fsopen.py, which is not kept loaded.
#
# A record is checked whole (header, length, crc over header and payload) before its payload
# is read, so a reader never returns a partial or damaged item. After damage it looks for the
# next record magic whose record checks out, and goes on from there. Each damaged stretch, each
# out-of-order record, each truncated end and each bad segment header is counted once: a
# segment remembers up to where damage has been counted (SEEN) and which seqs turned out
# unreadable (LOST), so the queue's length stays exact.

import binascii
import struct

from .compat import const, is_missing
from .fsformat import unpack_rec, unstamp

# A segment is a list (cheaper than an object on MicroPython), the same fields in fsqueue.py:
_FIRST = const(0)  # seq of its first item
_LAST = const(1)  # seq of its last item; _OPEN while a tail is being indexed
_PATH = const(2)  # where the file is
_SIZE = const(3)  # bytes in the file, -1 until known
_SEEN = const(4)  # bytes up to which damage has been counted
_LOST = const(5)  # None, or [[a, b], ...]: seqs found unreadable
_LOFF = const(6)  # offset of the record holding _LAST, -1 when unknown
_HEAD = const(7)  # 1 once its header has been checked
_OPEN = const(0xFFFFFFFF)
_HSZ = const(12)  # record header, record overhead, stamp (fsformat.py)
_OVER = const(16)
_SSZ = const(20)


def lost(seg, start, end):
    # How many seqs of start..end are known to be unreadable.
    n = 0
    for a, b in seg[_LOST] or ():
        n += max(0, min(b, end) - max(a, start) + 1)
    return n


class Reader:
    def __init__(self, limit):
        self.limit = limit  # the largest payload a record may claim
        self.h = bytearray(_HSZ)
        self.c = bytearray(128)
        self.mv = memoryview(self.c)
        self.corrupt = 0  # LOST only grows with it: the queue recounts when it changed

    def _damage(self, seg, off, a, b, end):
        # One damaged stretch at byte off; seqs a..b are unreadable; reading resumes at end.
        if off >= seg[_SEEN]:
            self.corrupt += 1
            if a <= b:
                seg[_LOST] = (seg[_LOST] or []) + [[a, b]]
        seg[_SEEN] = max(seg[_SEEN], end, off + 1)

    def rec(self, f, off, size):
        # (seq, end) of a whole, undamaged record at byte off, or None.
        if off + _OVER > size:
            return None
        f.seek(off)
        h = unpack_rec(self.h) if f.readinto(self.h) == _HSZ else None
        if h is None:
            return None
        seq, n = h
        end = off + _OVER + n
        if n > self.limit or end > size:
            return None
        c = binascii.crc32(self.h)
        while n:
            v = self.mv[0 : min(n, 128)]
            if f.readinto(v) != len(v):
                return None
            c = binascii.crc32(v, c)
            n -= len(v)
        v = self.mv[0:4]
        if f.readinto(v) != 4 or struct.unpack_from("<I", self.c, 0)[0] != c:
            return None
        return seq, end

    def _resync(self, f, start, size):
        # The next whole record at or after byte start: (offset, seq, end), or None. The scan
        # window is c[64:128]; rec() reuses all of c, so a window's candidates are listed
        # before any is checked.
        while start + _OVER <= size:
            f.seek(start)
            k = f.readinto(self.mv[64:128])
            hits = []
            i = self.c.find(b"\xc5\x51", 64, 64 + k)
            while i >= 0:
                hits.append(start + i - 64)
                i = self.c.find(b"\xc5\x51", i + 1, 64 + k)
            for q in hits:
                r = self.rec(f, q, size)
                if r is not None:
                    return q, r[0], r[1]
            start += max(k - 1, 1)
        return None

    def walk(self, f, seg, off, prev, after, read):
        # The first whole item with seq > after, reading from byte off where every record has
        # seq > prev: (seq, data if read else None, start, end), or None when the segment has
        # no more.
        if seg[_SIZE] < 0:
            seg[_SIZE] = f.seek(0, 2)
        size = seg[_SIZE]
        off = max(off, _SSZ)
        last = seg[_LAST]
        while prev < last:
            if off >= size and last == _OPEN:
                return None  # the end of a tail being indexed
            r = self.rec(f, off, size)
            q = off
            if r is None:
                r = self._resync(f, off + 1, size)
                if r is None:  # damaged or truncated to the end
                    self._damage(seg, off, prev + 1, prev if last == _OPEN else last, size)
                    return None
                q = r[0]
                r = r[1:]
            seq, end = r
            if q != off or seq > prev + 1:
                self._damage(seg, off, prev + 1, min(seq - 1, last), q)
            if seq > last:
                return None  # past the range: an append that failed yet landed
            if seq <= prev:
                self._damage(seg, q, 1, 0, end)  # out of order: skipped, nothing lost
            else:
                seg[_SEEN] = max(seg[_SEEN], end)
                if seq > after:
                    data = None
                    if read:
                        f.seek(q + _HSZ)
                        n = end - q - _OVER
                        if read is True:
                            data = f.read(n)
                            got = len(data)
                        else:  # peek_into: straight into the caller's buffer
                            if n > len(read):
                                raise ValueError("item larger than the buffer")
                            got = f.readinto(read[:n])
                            data = n
                        if got != n:
                            raise OSError(5)  # changed under us: never a partial item
                    return seq, data, q, end
                prev = seq
            off = end
        return None


def walk(q, s, off, prev, after, read):
    # Reader.walk on segment s of queue q, its file opened and closed here. A file deleted
    # under the queue: all its items lost, counted once. The segment header is checked when
    # the segment is first read (not while it is indexed at open).
    try:
        f = q._open(s[_PATH], "rb")
    except OSError as e:
        if not is_missing(e):
            raise
        if s[_SEEN] >= 0:
            q._rd.corrupt += 1
            s[_SEEN] = -1
            s[_LOST] = [[s[_FIRST], s[_LAST]]]
            q._count()
        return None
    before = q._rd.corrupt
    try:
        if not s[_HEAD] and s in q._segs and f.seek(0, 2):  # empty: a cut before its 1st write
            f.seek(0)
            h = unstamp(b"CQS2", f.read(_SSZ))
            i = q._segs.index(s)
            # A segment before it gone missing (deleted, unlisted) leaves a gap here.
            low = max(q._acked, q._segs[i - 1][_LAST] if i else 0)
            q._rd.corrupt += h is None or h[0] != s[_FIRST] or h[2] > low
            s[_HEAD] = 1
        r = q._rd.walk(f, s, off, prev, after, read)
    finally:
        f.close()
    if q._rd.corrupt != before:
        q._count()  # damage found: fewer items than the seqs say
    return r
