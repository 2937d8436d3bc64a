# ringwalk.py - reading a RingQueue region: its geometry, device access counted per call, and
# the walk that finds complete items among the records (ringqueue.py builds the queue on it).
#
# Positions are absolute slot numbers that only grow; slot p lives in ring sector
# (o + p // per) % nsec of the region, where o is the oldest sector found at open. Damaged
# records are counted once each (a walk passes over the same records again and again).

from .ringformat import ESZ, OVERHEAD, check_record, seed

_EIO = 5


class RingWalk:
    def __init__(self, dev, first, nblocks, max_item, record_size, tag):
        bs = dev.ioctl(5, 0)
        rs = record_size
        if rs < 32 or rs % 16 or bs % rs or bs % 256 or first + nblocks > dev.ioctl(4, 0):
            raise ValueError("ring geometry")
        self.corrupt = 0
        self.erases = self.programs = self.reads = 0
        self._dev = dev
        self._bs = bs
        self._rs = rs
        self._pay = rs - OVERHEAD
        self._per = bs // rs  # records per sector
        self._c0 = first  # cursor sectors: first, first + 1
        self._base = first + 2
        self._nsec = nblocks - 2
        k = (max_item + self._pay - 1) // self._pay or 1
        span = (k + self._per - 2) // self._per + 1  # sectors one item can touch
        if self._nsec < max(3, span + 1) or k * self._pay > 0xFFFF:
            raise ValueError("ring region too small")
        self._kmax = k
        self.max_item = k * self._pay
        self._lap = self._nsec * self._per
        self._seed = seed(first, nblocks, rs, tag)
        self._buf = bytearray(rs)  # one record, reused by every read
        self._mv = memoryview(self._buf)
        self._ff = b"\xff" * rs
        self._ppg = max(1, 256 // rs)  # records per page program (a 256-byte flash page)
        self._wb = bytearray(self._ppg * rs)
        self._ent = bytearray(ESZ)

    # ---- device access

    def _rd(self, blk, off, buf):
        self.reads += 1
        if self._dev.readblocks(blk, buf, off):
            raise OSError(_EIO)

    def _pg(self, blk, off, buf):
        self.programs += 1
        if self._dev.writeblocks(blk, buf, off):
            raise OSError(_EIO)

    def _er(self, blk):
        self.erases += 1
        if self._dev.ioctl(6, blk):
            raise OSError(_EIO)

    def _prec(self, sec, slot):
        # Record at ring sector sec, slot: header tuple, None when erased, False when damaged.
        self._rd(self._base + sec, slot * self._rs, self._buf)
        h = check_record(self._buf, self._mv, self._rs, self._seed)
        if h is None and self._buf != self._ff:
            return False
        return h

    def _rec(self, pos):
        p = self._per
        return self._prec((self._o + pos // p) % self._nsec, pos % p)

    def _damage(self, pos):
        # Each damaged position is counted once: walks pass over the same records again.
        if pos >= self._cmark:
            self.corrupt += 1
            self._cmark = pos + 1

    # ---- walking the ring

    def _item(self, pos, after, want):
        # First complete item with seq > after at or beyond position pos, below the head:
        # (seq, data, start, end) or None. Broken records are skipped. want: True -> data is
        # a new bytearray; a writable buffer -> the item is copied into it (ValueError when
        # it does not fit) and data is its length; False -> data is None, nothing copied.
        head = self._head
        pay = self._pay
        mv = self._mv
        while pos < head:
            h = self._rec(pos)
            if not h:
                if h is False:
                    self._damage(pos)
                pos += 1
                continue
            np = h[1]
            seq = h[3]
            if h[0]:
                pos += 1  # a part without its start: remnant of a dropped or damaged item
                continue
            if seq <= after:
                # Jump over it only when its last part is there: a torn item's slots after
                # the tear hold newer items (the head moved on past the tear at the reboot).
                if np > 1:
                    z = self._rec(pos + np - 1) if pos + np <= head else None
                    if not z or z[0] != np - 1 or z[3] != seq:
                        np = 1
                pos += np
                continue
            if pos + np > head:
                self._damage(pos)  # torn: the rest of it was never programmed
                pos += 1
                continue
            tot = h[2]
            out = None
            if want is True:
                out = bytearray(tot)
            elif want is not False:
                if tot > len(want):
                    raise ValueError("item larger than the buffer")
                out = want
            if out is not None:
                n = min(pay, tot)
                out[0:n] = mv[12 : 12 + n]
            j = 1
            while j < np:
                h = self._rec(pos + j)
                if not h or h[0] != j or h[1] != np or h[3] != seq:
                    break
                if out is not None:
                    p = j * pay
                    n = min(pay, tot - p)
                    out[p : p + n] = mv[12 : 12 + n]
                j += 1
            if j == np:
                if out is not None and want is not True:
                    out = tot  # peek_into: the length; the bytes are in the caller's buffer
                return (seq, out, pos, pos + np)
            if h is not False:
                self._damage(pos)  # incomplete (a damaged record counts itself when reached)
            pos += j
        return None
