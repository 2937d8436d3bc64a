# ringqueue.py - persistent FIFO of byte strings in a raw flash region: a ring of sectors.
#
# Why: on LittleFS every durable append costs an erase (and a recorded event two), and the
# cost of an append grows with the number of files. Here an item is programmed in place into
# fixed-size records (ringformat.py) and a sector is erased only when the head enters it, so a
# 128-byte record costs one page program and 1/32 of an erase, whatever the depth.
#
# Region: blocks [first, first + nblocks) of a device speaking MicroPython's extended block
# protocol (readblocks/writeblocks with an offset, writeblocks programs without erasing,
# ioctl 4/5/6 = block count / block size / erase one block):
#   first, first + 1   cursor: append-only 16-byte entries (acked seq, highest seq), the
#                      newest entry wins; when one sector is full the other is erased
#   first + 2 ...      the ring: records of items, in order, items may cross sectors
#
# Durability rules (the proof is in docs/ring.md):
# - a slot is programmed once after its sector's erase returned; a slot a failed or cut
#   program may have touched is never programmed again (head moves past it);
# - an item is readable only when all its records are valid (crc) and agree (seq, nparts);
# - acks and drop_oldest are durable cursor entries; erasing a sector drops what starts in it;
# - at open the newest sector is the one with the highest first seq, the head follows its
#   last programmed slot, and seq restarts above every seq seen in the ring or the cursor.
# Reading records and walking items: ringwalk.py.

from .ringformat import ESZ, check_entry, encode_entry, encode_record
from .ringwalk import RingWalk


class RingQueue(RingWalk):
    cheap_ack = True  # an ack is one 16-byte cursor entry: the sender need not defer it

    def __init__(self, dev, first, nblocks, capacity=1000, max_item=5184, record_size=128,
                 tag=None):
        # tag: bytes naming the owner (the store folder): another owner's records are foreign
        RingWalk.__init__(self, dev, first, nblocks, max_item, record_size, tag)
        self.capacity = capacity
        self.dropped = 0
        self._hint = None  # (seq, end, items from the tail or None) of the last item read
        self._load()

    # ---- recovery

    def _load_cursor(self):
        best = None
        hi = 0
        used = [-1, -1]
        bc = 0
        step = self._rs // ESZ
        for c in (0, 1):
            for j in range(0, self._bs // ESZ, step):
                self._rd(self._c0 + c, j * ESZ, self._buf)
                if self._buf == self._ff:
                    continue  # erased: most of a cursor sector, one comparison
                for k in range(step):
                    e = check_entry(self._buf, k * ESZ, self._seed)
                    if e is None:
                        if self._buf[k * ESZ : k * ESZ + ESZ] != self._ff[0:ESZ]:
                            self.corrupt += 1
                            used[c] = j + k
                        continue
                    used[c] = j + k
                    hi = max(hi, e[1])
                    if best is None or e[0] > best:
                        best = e[0]
                        bc = c
        self._cs = None if best is None else bc  # active cursor sector
        self._cslot = used[bc] + 1  # next entry slot in it
        return best or 0, hi

    def _load(self):
        acked, hi = self._load_cursor()
        nsec = self._nsec
        per = self._per
        fs = [-1] * nsec  # first valid seq of each sector
        junk = [0] * nsec  # damaged slots of the sectors without a valid record
        for s in range(nsec):
            for j in range(per):
                h = self._prec(s, j)
                if h:
                    fs[s] = h[3]
                    break
                if h is False:
                    junk[s] += 1
        top = max(fs)
        newest = fs.index(top)
        # An item filling a sector from its first slot gives the next one the same first seq.
        for _ in range(nsec if top >= 0 else 0):
            if fs[(newest + 1) % nsec] != top:
                break
            newest = (newest + 1) % nsec
        self._o = (newest + 1) % nsec if top >= 0 else 0
        maxseq = max(top, 0)
        head = 0
        if top >= 0:
            # The head follows the last programmed slot of the newest sector, whose last valid
            # record holds the highest seq.
            for j in range(per - 1, -1, -1):
                h = self._prec(newest, j)
                if h is None:
                    continue
                if not head:
                    head = (nsec - 1) * per + j + 1
                if h:
                    maxseq = max(maxseq, h[3])
                    break
        self._head = head
        self._erased = nsec * per if top >= 0 else 0  # slots below this are erased/programmed
        # Skip sectors whose successor starts at or below the acked seq: all theirs is acked.
        start = None
        for i in range(nsec):
            f = fs[(self._o + i) % nsec]
            if f < 0:
                continue
            if start is not None and f > acked:
                break
            start = i
        for i in range(nsec if start is None else start):
            self.corrupt += junk[(self._o + i) % nsec]  # never walked: count them here
        pos = (start or 0) * per
        self._cmark = pos
        self._acked = acked
        n = 0
        first = last = None
        a = acked
        while True:
            r = self._item(pos, a, False)
            if r is None:
                break
            n += 1
            if first is None:
                first = r[2]
            last = (r[0], r[2])
            a = r[0]
            pos = r[3]
        self._cmark = max(self._cmark, head)
        self._tail = head if first is None else first
        self._n = n
        self._last = last
        self._lastseq = a
        self._next = max(maxseq, hi, acked, a) + 1
        # Drops by the capacity are not persisted (that would cost a cursor entry per
        # append): enforce it again, uncounted, as the previous session did.
        while self._n > self.capacity and self._drop_first(None, False):
            pass

    # ---- dropping and the cursor

    def _drop_first(self, limit, count):
        # Drop the oldest waiting item if it starts below limit. -> True when one was dropped.
        r = self._item(self._tail, self._acked, False)
        if r is None:
            self._n = 0
            self._tail = self._head
            return False
        if limit is not None and r[2] >= limit:
            self._tail = r[2]
            return False
        self._acked = r[0]  # in memory only: the erase or the next open makes it final
        self._tail = r[3]
        self._n -= 1
        self._hint = None
        if count:
            self.dropped += 1
        return True

    def _persist(self, acked):
        # One cursor entry; raises OSError with nothing changed in memory but the slot.
        encode_entry(self._ent, acked, self._next - 1, self._seed)
        if self._cs is None or self._cslot >= self._bs // ESZ:
            c = 0 if self._cs is None else self._cs ^ 1
            self._er(self._c0 + c)  # the other sector holds only older entries
            self._cs = c
            self._cslot = 0
        slot = self._cslot
        self._cslot += 1  # a failed program may have touched the slot: never reuse it
        self._pg(self._c0 + self._cs, slot * ESZ, self._ent)

    def _free(self, b):
        # Before erasing the sector that starts at position b: drop what starts in it.
        lim = b - self._lap + self._per
        while self._tail < lim and self._drop_first(lim, True):
            pass
        if self._tail < lim:
            self._tail = lim

    # ---- public API

    def __len__(self):
        return self._n

    def append(self, data):
        if isinstance(data, str):
            data = data.encode()
        n = len(data)
        pay = self._pay
        k = (n + pay - 1) // pay or 1
        if k > self._kmax:
            raise ValueError("item too large")
        while self._n >= self.capacity and self._n > 0:
            self._drop_first(None, True)
        seq = self._next
        pos = self._head
        end = pos + k
        while self._erased < end:
            b = self._erased
            self._free(b)
            self._er(self._base + (self._o + b // self._per) % self._nsec)
            self._erased = b + self._per
        try:
            self._program(pos, memoryview(data), n, seq, k)
        except OSError:
            self._head = end  # the slots may hold torn records: never program them again
            self._next = seq + 1
            raise
        self._head = end
        self._next = seq + 1
        self._n += 1
        self._last = (seq, pos)
        self._lastseq = seq
        return seq

    def _program(self, pos, dv, n, seq, k):
        # Records in page-sized programs; a page never crosses a sector (per % ppg == 0).
        rs = self._rs
        per = self._per
        ppg = self._ppg
        wb = self._wb
        fill = 0
        at = pos
        for j in range(k):
            encode_record(wb, fill * rs, rs, j, k, n, seq, dv, j * self._pay, self._seed, self._ff)
            fill += 1
            p = pos + j
            if j == k - 1 or (p + 1) % ppg == 0:
                blk = self._base + (self._o + at // per) % self._nsec
                buf = wb if fill == ppg else memoryview(wb)[0 : fill * rs]
                self._pg(blk, (at % per) * rs, buf)
                at = p + 1
                fill = 0

    def peek(self):
        if self._n == 0:
            return None
        r = self._item(self._tail, self._acked, True)
        if r is None:
            # The count covered records damaged since: nothing complete is left to read.
            self._n = 0
            return None
        self._tail = r[2]
        self._hint = (r[0], r[3], 1)
        return (r[0], bytes(r[1]))

    def peek_into(self, buf):
        # The oldest item copied into buf (a writable buffer): -> (seq, length) or None, with
        # no allocation the size of the item. ValueError when it does not fit.
        if self._n == 0:
            return None
        r = self._item(self._tail, self._acked, buf)
        if r is None:
            self._n = 0
            return None
        self._tail = r[2]
        self._hint = (r[0], r[3], 1)
        return (r[0], r[1])

    def items(self, after=None, limit=None):
        # Do not append, ack or drop while iterating.
        a = self._acked if after is None or after < self._acked else after
        pos = self._tail
        base = 0 if a == self._acked else None  # counting items from the tail (for ack)
        h = self._hint
        if h is not None and h[0] <= a:
            pos = h[1]  # resume after the last item read: all before it is <= a
            base = h[2] if h[0] == a else None
        cnt = 0
        while limit is None or cnt < limit:
            r = self._item(pos, a, True)
            if r is None:
                return
            cnt += 1
            a = r[0]
            pos = r[3]
            self._hint = (a, pos, None if base is None else base + cnt)
            yield (a, bytes(r[1]))

    def peek_last(self):
        if self._n == 0 or self._last is None or self._last[0] <= self._acked:
            return None
        seq, start = self._last
        r = self._item(start, seq - 1, True)
        if r is not None and r[0] == seq:
            return (seq, bytes(r[1]))
        last = None  # damaged since it was written: the newest complete one before it
        for it in self.items():
            last = it
        return last

    def ack(self, seq):
        if seq > self._lastseq:
            seq = self._lastseq  # never acknowledge what does not exist yet
        if seq <= self._acked:
            return
        self._persist(seq)
        pos = self._tail
        h = self._hint
        walk = True
        if h is not None and h[2] is not None and h[0] <= seq:
            pos = h[1]  # the items read since the tail: no need to read them again
            self._n -= h[2]
            walk = h[0] < seq  # seqs only grow: nothing after it can be <= seq
        while walk:
            r = self._item(pos, self._acked, False)
            if r is None or r[0] > seq:
                break
            self._n -= 1
            pos = r[3]
        self._tail = pos
        self._acked = seq
        self._hint = None
        if self._n < 0:
            self._n = 0

    def drop_oldest(self):
        if self._n == 0:
            return 0
        r = self._item(self._tail, self._acked, False)
        if r is None:
            self._n = 0
            return 0
        # Everything that starts in the oldest item's sector: that sector is then free.
        lim = (r[2] // self._per + 1) * self._per
        cnt = 0
        while r is not None and r[2] < lim:
            cnt += 1
            last = r
            r = self._item(r[3], r[0], False)
        self._persist(last[0])
        self._acked = last[0]
        self._tail = last[3]
        self._n = max(0, self._n - cnt)
        self.dropped += cnt
        self._hint = None
        return cnt

    def stats(self):
        return {"erases": self.erases, "programs": self.programs, "reads": self.reads,
                "sectors": self._nsec, "record_size": self._rs, "corrupt": self.corrupt}

    def close(self):
        self._n = 0
        self._head = self._tail
