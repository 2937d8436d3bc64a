# fsseg.py - reading fsqueue.py's segment files, damage skipped and counted, and rebuilding a
# queue's state from them when it is opened (load).
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
from .fsformat import is_nospc, unpack_rec, unstamp
from .store import remove_quietly

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


def scan(q, s, after):
    # (seq, None, start, end) of the newest whole item of s with seq > after, or None.
    r = None
    w = (s[_FIRST] - 1, 0, 0, _SSZ)
    while True:
        w = walk(q, s, w[3], w[0], max(w[0], after), False)
        if w is None:
            return r
        r = w


def read(q, path, n):
    try:
        f = q._open(path, "rb")
    except OSError as e:
        if is_missing(e):
            return None
        raise
    try:
        return f.read(n)
    finally:
        f.close()


def load(q):
    # Opening a queue: its state rebuilt from what is on storage. The segments are the truth.
    # Sealed segments are known from their names alone (first and last seq); the tail, which a
    # restart may have cut short, is read whole. The acked seq is the best of the two cursor
    # slots; when both are unreadable, what the newest segment's header says was acked when it
    # was created. A segment is deleted only once the cursor holds its last seq, so a gap is
    # damage: before a segment (its header names the newest item before it; checked when it
    # is first read) or at the end (the cursor names the newest item when it was written).
    # Left-overs are tidied: tails with nothing readable (a cut before their first write)
    # removed, older or damaged tails sealed, out-of-order segments counted and removed.
    best = None
    nxt = 0
    for i in (0, 1):
        raw = read(q, q._dir + "/c%d" % i, 64)
        v = unstamp(b"CQC2", raw)
        if v is None:
            q._rd.corrupt += raw is not None  # a damaged slot
            continue
        best = v[0] if best is None else max(best, v[0])
        nxt = max(nxt, v[1] + 1)
    segs = []
    noted = nxt - 1  # the newest item the cursor saw
    clean = q._rd.corrupt
    names = q._fs.listdir(q._dir)
    try:
        names += ["/" + name for name in q._fs.listdir(q._dir + "/s")]  # made at 1st seal
    except OSError:
        pass
    for name in names:
        # "/FIRSTLAST": sealed in s/; "sFIRSTLAST": sealed in place; "tFIRST": a tail.
        if len(name) == 17 and name[0] in "/s":
            try:
                a = int(name[1:9], 16)
                z = int(name[9:], 16)
            except ValueError:
                continue
            if a <= z:
                segs.append([a, z, q._dir + ("/s" if name[0] == "/" else "/") + name,
                             -1, 0, None, -1, 0])
        elif len(name) == 9 and name[0] == "t":
            try:
                s = [int(name[1:], 16), 0, q._dir + "/" + name, -1, 0, None, -1, 0]
            except ValueError:
                continue
            # A tail left by the last run, read whole to find its last item. Clean: nothing
            # damaged, nothing after its last record.
            before = q._rd.corrupt
            s[_LAST] = _OPEN
            r = scan(q, s, s[_FIRST] - 1)
            if q._rd.corrupt != before or r is None or r[3] != s[_SIZE]:
                # Damaged: no seq it may have held is handed out again (a record takes at
                # least 16 bytes; its first seq may have been handed out even when empty).
                nxt = max(nxt, s[_FIRST] + max(1, (s[_SIZE] - _SSZ) // _OVER))
                s[_SIZE] = -1 - s[_SIZE]  # < 0: never appended to again
            if r is None:  # nothing readable: a cut before its first write, or damage
                if q._rd.corrupt == before and s[_SIZE] < -1:
                    q._rd.corrupt += 1  # not empty: torn or damaged (LittleFS cuts leave 0)
                remove_quietly(q._fs, s[_PATH])
                continue
            s[_LAST], _, s[_LOFF], end = r
            segs.append(s)
    segs.sort(key=lambda s: s[_FIRST])
    for s in segs:
        if q._segs and s[_FIRST] <= q._segs[-1][_LAST]:
            q._rd.corrupt += 1  # overlaps an older segment: out of order
            remove_quietly(q._fs, s[_PATH])
            continue
        q._segs.append(s)
    acked = best or 0
    new = q._segs[-1] if q._segs else None
    if new is not None and best is None:
        # No cursor: what was acked when the newest segment was created. (Not the oldest
        # segment's first seq: a segment deleted by damage would pass for a consumed one.)
        h = unstamp(b"CQS2", read(q, new[_PATH], _SSZ))
        if h is not None and h[0] == new[_FIRST]:
            acked = min(h[1], new[_FIRST] - 1)
    if noted > max(acked, new[_LAST] if new else 0) and q._rd.corrupt == clean:
        # The cursor saw items no segment holds: the newest segment lost, or cut short at a
        # record boundary (else its damage was counted already).
        q._rd.corrupt += 1
    q._acked = acked
    q._dur = best or 0
    q._next = max(nxt, acked + 1, new[_LAST] + 1 if new else 0)
    for s in q._segs:
        if s[_PATH][len(q._dir) + 1] == "t":
            q._tail = s
            if s is new and s[_SIZE] > 0 and s[_LAST] + 1 == q._next:
                break  # appended to again
            try:
                q._seal()
            except OSError as e:
                if not is_nospc(e):
                    raise
    if acked and best != acked:
        try:
            q._put_cursor(acked)  # repair the slots from the evidence
        except OSError as e:
            if not is_nospc(e):
                raise
    q._gc()
    q._count()
    # Drops by the cap are not persisted (a cursor write per append), so the cap is enforced
    # again here. Not counted in dropped: the object before the restart counted them.
    while q._n > q.capacity:
        q._drop_one(False)
