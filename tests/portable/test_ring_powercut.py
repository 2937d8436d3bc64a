# test_ring_powercut.py - RingQueue under power cuts at random programs and erases, torn in every
# mode norblock.py knows (prefix, suffix, random bits, nothing, everything), four geometries.
# A long seeded workload (appends of 4 B .. max_item, peeks, batch reads, acks through every
# path, drop_oldest, reopens) is cut at a random program or erase; then the device is revived
# and the queue reopened (a reboot) and checked against a model:
#   - every item read back is byte-exact (0 corrupt items returned), seqs ascending;
#   - every accepted item is there unless acked or dropped (0 lost), and an item dropped by
#     the cut call itself (capacity, or the sector its erase was reusing) may be back or not;
#   - an acked (or drop_oldest-ed) item never comes back; an ack cut mid-way is all or none;
#   - a seq handed out or seen is never handed out again;
#   - no program ever touched a programmed byte (the device is in its strictest mode).

import struct
import sys

from countly_mp.ringqueue import RingQueue
from fakes import tmpdir
from norblock import NorBlock
from xorshift import XorShift

MP = sys.implementation.name == "micropython"
CUTS = 250  # per geometry: 4 x 250 = 1000 cuts per interpreter


_PAY = [None, bytearray(256)]


def _payload(idx, n):
    # One buffer reused for every append (a memoryview of its first n bytes): fresh 5 KiB
    # payloads between long-lived objects would fragment a 128 KiB MicroPython heap.
    b = _PAY[0]
    if b is None or len(b) < n:
        b = _PAY[0] = bytearray(n)
    fill = _PAY[1]
    f = (idx * 13 + 7) & 0xFF
    for i in range(256):
        fill[i] = f
    mv = memoryview(b)
    for o in range(4, n, 256):
        m = min(256, n - o)
        mv[o : o + m] = memoryview(fill)[0:m]
    struct.pack_into("<HH", b, 0, idx & 0xFFFF, n)
    return mv[0:n]


def _key(b):
    # The item's key (idx * 8192 + length, a small int) after checking every byte of it.
    idx, n = struct.unpack("<HH", b[0:4])
    fill = bytes([(idx * 13 + 7) & 0xFF])
    assert len(b) == n and b.count(fill, 4) == n - 4, "corrupt item returned"
    return idx * 8192 + n


# (op, weight %) when online and when offline
_MIX = {
    False: (("append", 45), ("ack", 35), ("drop", 5), ("check", 8), ("reopen", 7)),
    True: (("append", 85), ("ack", 3), ("drop", 2), ("check", 5), ("reopen", 5)),
}


def _pick(mix, r):
    for op, w in mix:
        r -= w
        if r < 0:
            return op
    return mix[-1][0]


class _Run:
    # The model: ms/mk, the seqs and keys of the waiting items, oldest first (two lists of small
    # ints edited in place: no object per item on the heap).
    def __init__(self, seed, bs, nblocks, rs, cap, max_item):
        self.rng = XorShift(seed)
        # File-backed on MicroPython: the image stays out of the 128 KiB heap the queue runs in.
        path = tmpdir("ring") + "/flash" if MP else None
        self.dev = NorBlock(bs, nblocks, path=path, once=True, seed=seed * 7 + 1)
        self.geo = (nblocks, cap, max_item, rs)
        self.q = self.open()
        self.ms = []
        self.mk = []
        self.gone = {}  # seq -> key: dropped, not acked: a cut may bring it back
        self.acked = 0  # highest seq an ack or drop_oldest confirmed
        self.hiseq = 0
        self.idx = 0
        self.stats = {"append": 0, "ack": 0, "drop": 0, "erase": 0, "torn": {}}

    def open(self):
        n, cap, mi, rs = self.geo
        return RingQueue(self.dev, 0, n, capacity=cap, max_item=mi, record_size=rs)

    def size(self):
        r = self.rng.below(100)
        mx = self.q.max_item
        if r < 55:
            return min(mx, 4 + self.rng.below(120))
        if r < 92:
            return min(mx, 100 + self.rng.below(500))
        return 4 + self.rng.below(mx - 3)

    def popfront(self, d):
        # The d oldest items leave the model.
        del self.ms[:d]
        del self.mk[:d]

    def forget(self, d):
        # The d oldest items were dropped: a cut may yet bring them back.
        for i in range(d):
            self.gone[self.ms[i]] = self.mk[i]
        self.popfront(d)
        # An item a whole lap of records older than the newest cannot be on the flash any more.
        old = self.hiseq - self.q._lap
        for s in [s for s in self.gone if s <= old]:
            del self.gone[s]

    # ---- operations: each updates the model, or raises (the cut)

    def op_append(self, st):
        n = self.size()
        st["new"] = self.idx * 8192 + n
        seq = self.q.append(_payload(self.idx, n))
        assert seq > self.hiseq, "sequence number reused"
        self.hiseq = seq
        self.forget(self.q.dropped - st["d0"])
        self.ms.append(seq)
        self.mk.append(self.idx * 8192 + n)
        self.idx += 1

    def op_ack(self, st):
        if not self.ms:
            return
        j = self.rng.below(min(len(self.ms), 4 if self.rng.below(4) else 12))
        how = self.rng.below(3)
        if how == 0:  # the sender's way (then an ack of one or more)
            if self.rng.below(2):
                s, b = self.q.peek()
            else:  # into the payload buffer: appends are done with it by now
                buf = _payload(0, self.q.max_item)  # a memoryview of max_item bytes
                s, n = self.q.peek_into(buf)
                b = bytes(buf[0:n])
            assert s == self.ms[0] and _key(b) == self.mk[0], "peek"
        elif how == 1:
            i = 0
            for s, b in self.q.items(limit=j + 1):
                assert s == self.ms[i] and _key(b) == self.mk[i], "items"
                i += 1
            assert i == j + 1
        st["target"] = self.ms[j]
        self.q.ack(self.ms[j])
        self.acked = self.ms[j]
        self.popfront(j + 1)

    def op_drop(self, st):
        st["target"] = None
        cnt = self.q.drop_oldest()
        assert cnt == self.q.dropped - st["d0"] and cnt <= len(self.ms)
        if cnt:
            self.acked = self.ms[cnt - 1]
        self.popfront(cnt)

    def op_check(self, st):
        i = 0
        for s, b in self.q.items():
            assert s == self.ms[i] and _key(b) == self.mk[i], "items differ from the model"
            i += 1
        assert i == len(self.ms) == len(self.q)
        p = self.q.peek_last()
        assert (p is None and not self.ms) or (p[0] == self.ms[-1] and _key(p[1]) == self.mk[-1])

    def op_reopen(self, st):
        self.q = self.open()
        self.op_check(st)

    # ---- after a cut

    def reboot(self, op, st):
        self.dev.revive()
        self.q = self.open()
        gs = []
        gk = []
        for s, b in self.q.items():
            gs.append(s)
            gk.append(_key(b))
        assert len(self.q) == len(gs), "len after reboot"
        model = {}
        for i in range(len(self.ms)):
            model[self.ms[i]] = self.mk[i]
        prev = 0
        for i in range(len(gs)):
            s = gs[i]
            assert s > prev, "order broken"
            prev = s
            assert s > self.acked, "acked item came back"
            k = model.get(s, self.gone.get(s))
            if k is None:
                assert op == "append" and s > self.hiseq and gk[i] == st["new"], "unknown item"
            else:
                assert k == gk[i], "item changed"
        have = {}
        for s in gs:
            have[s] = True
        ms = self.ms
        if op == "append":
            first = st["drops"]  # what the cut call had dropped may be back, or not
        elif op == "ack" and st.get("target"):
            first = len([s for s in ms if s <= st["target"]])
            n = len([s for s in ms[:first] if s in have])
            assert n in (0, first), "ack half done"
            if first and n == 0:
                self.acked = st["target"]
        else:  # drop_oldest: a prefix of the model, all or none
            first = 0
            while first < len(ms) and ms[first] not in have:
                first += 1
            if first:
                self.acked = ms[first - 1]
        for s in ms[first:]:
            assert s in have, "accepted item lost"
        for i in range(len(ms)):
            if ms[i] not in have and ms[i] > self.acked:
                self.gone[ms[i]] = self.mk[i]
        for s in [s for s in self.gone if s <= self.acked or s in have]:
            del self.gone[s]
        self.ms = gs
        self.mk = gk
        if gs and gs[-1] > self.hiseq:
            self.hiseq = gs[-1]
        if op == "append":
            self.idx += 1

    def run(self, cuts):
        dev = self.dev
        kmax = {"append": 4, "ack": 2, "drop": 2}
        done = trials = 0
        offline = False
        phase = 1
        while done < cuts:
            trials += 1
            phase -= 1
            if phase == 0:
                # offline: the queue grows until capacity or storage drops; online: drains
                offline = not offline
                phase = 100 if offline else 50
            op = _pick(_MIX[offline], self.rng.below(100))
            st = {"d0": self.q.dropped}
            ops0 = dev.ops
            if op in kmax and self.rng.below(3):
                dev.arm(1 + self.rng.below(kmax[op]))
            err = None
            q = self.q
            try:
                getattr(self, "op_" + op)(st)
            except OSError as e:
                err = e
            dev.disarm()
            if not dev.fired:
                if err is not None:
                    raise err
                if op in kmax:
                    kmax[op] = dev.ops - ops0 + 1
                continue
            done += 1
            self.stats[op] += 1
            if dev.cut_kind == "erase":
                self.stats["erase"] += 1
            t = self.stats["torn"]
            t[dev.torn] = t.get(dev.torn, 0) + 1
            st["drops"] = q.dropped - st["d0"]
            self.reboot(op, st)
        assert dev.violations == 0
        self.stats["trials"] = trials
        return self.stats


def _check(seed, geo):
    s = _Run(seed, *geo).run(CUTS)
    print("ring powercut seed %d %r: %r" % (seed, geo, s))
    assert s["append"] > CUTS // 3 and s["ack"] >= CUTS // 12 and s["erase"] > 5
    assert len(s["torn"]) == 5


# Two geometries are bound by the capacity, two by the storage (the head erases sectors
# that still hold waiting items).


def test_powercuts_4k_sectors_128b_records_max_item():
    _check(1001, (4096, 8, 128, 40, 5184))


def test_powercuts_1k_sectors_64b_records_storage_bound():
    _check(2002, (1024, 12, 64, 60, 600))


def test_powercuts_1k_sectors_128b_records_storage_bound():
    _check(3003, (1024, 10, 128, 40, 1000))


def test_powercuts_4k_sectors_256b_records():
    _check(4004, (4096, 7, 256, 10, 5184))
