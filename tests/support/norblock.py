# norblock.py - NOR flash in RAM (or in a host file) for RingQueue tests: MicroPython's extended
# block protocol, NOR rules, counters and power cuts with torn programs and erases.
#
# NOR rules: erase sets a whole block to 0xFF; a program can only turn bits from 1 to 0, so
# a program that needs a 0 -> 1 transition is refused: OSError(EIO), nothing written, counted
# in .violations (a real chip would silently AND the bits; refusing makes the bug loud).
# Re-programming bytes with the same value (or with 1s over 0s) is legal NOR and allowed.
# once=True is stricter, like flash with ECC or encryption: a byte may be programmed once
# between erases (writing 0xFF over a programmed byte is a no-op and allowed).
#
# Power cut: arm(k) makes the k-th program or erase from now the last one. It is torn in a
# mode drawn from the device's own seeded generator (.torn tells which):
#   program  "prefix" the first m bytes programmed, byte m partly (some of its bits), rest not
#            "suffix" the bytes from m on programmed, byte m-1 partly, the first ones not (a
#                     chip may program the chunks of a page in any order)
#            "bits"   a random subset of the bits to clear cleared, everywhere
#            "none"   nothing reached the cells;  "all"  done, but the call never returned
#   erase    "prefix" the first m bytes erased;  "bits"  random bits set back to 1
#            "none"   nothing erased;  "all"  erased, but the call never returned
# The device then raises a preallocated OSError(EIO) on every call (no allocation after the
# cut) until revive(), the reboot: the bytes stay.
# FastBlock is the same protocol with counters only, for timing.

import sys

from xorshift import XorShift

MP = sys.implementation.name == "micropython"
_POOL = [None]
_EMODES = ("prefix", "bits", "none", "all")


def _buffer(size):
    # On MicroPython one image is reused by every RAM device of a process (so only one lives
    # at a time): under a 128 KiB heap a fresh image per test soon finds no contiguous hole.
    if not MP:
        return bytearray(size)
    b = _POOL[0]
    if b is None or len(b) < size:
        _POOL[0] = b = None
        import gc

        gc.collect()
        b = bytearray(size)
        _POOL[0] = b
    return b


def reserve(size):
    # Call first thing in a test module, while the heap is still in one piece.
    _buffer(size)


class NorBlock:
    def __init__(self, bs=4096, n=8, path=None, once=False, seed=1):
        self.bs = bs
        self.n = n
        self.once = once
        self._ff = b"\xff" * 256
        self.f = None
        if path:
            self.data = None
            self.f = open(path, "w+b")
            for _ in range(bs * n // 256):
                self.f.write(self._ff)
            self.f.flush()
        else:
            self.data = _buffer(bs * n)
            for i in range(0, bs * n, 256):
                self.data[i : i + 256] = self._ff
        self.reads = self.progs = self.erases = self.prog_bytes = 0
        self.violations = 0
        self.wear = [0] * n  # erases per block
        self.ops = 0  # programs + erases so far
        self.cut_at = 0
        self.dead = False
        self.fired = False
        self.torn = None  # torn mode of the last cut
        self.cut_kind = None  # "program" or "erase"
        self.rng = XorShift(seed)
        self._exc = OSError(5)  # raised after the cut: needs no heap

    # ---- faults

    def arm(self, k):
        self.cut_at = self.ops + k

    def disarm(self):
        self.cut_at = 0

    def revive(self):
        self.cut_at = 0
        self.dead = False
        self.fired = False

    def _cut(self, kind):
        self.ops += 1
        if self.cut_at and self.ops >= self.cut_at:
            self.cut_at = 0
            self.dead = self.fired = True
            self.cut_kind = kind
            modes = ("prefix", "suffix", "bits", "none", "all") if kind == "program" else _EMODES
            self.torn = modes[self.rng.below(len(modes))]
            return True
        return False

    # ---- storage

    def _get(self, a, n):
        if self.f is None:
            return bytes(memoryview(self.data)[a : a + n])
        self.f.seek(a)
        return self.f.read(n)

    def _put(self, a, b):
        if self.f is None:
            self.data[a : a + len(b)] = b
        else:  # no flush: the "reboot" is in this process (and MicroPython's flush is fsync)
            self.f.seek(a)
            self.f.write(b)

    def flip(self, a, bit):
        # Bit rot: flips one bit behind the device's back (no rules, no counters).
        b = bytearray(self._get(a, 1))
        b[0] ^= 1 << bit
        self._put(a, b)

    def image(self):
        return self._get(0, self.bs * self.n)

    # ---- block protocol

    def readblocks(self, blk, buf, off=0):
        if self.dead:
            raise self._exc
        self.reads += 1
        buf[:] = self._get(blk * self.bs + off, len(buf))

    def writeblocks(self, blk, buf, off=None):
        if self.dead:
            raise self._exc
        if off is None:  # simple protocol: erase whole blocks, then program
            for i in range(len(buf) // self.bs):
                self.ioctl(6, blk + i)
            off = 0
        a = blk * self.bs + off
        n = len(buf)
        if a < 0 or a + n > self.bs * self.n:
            raise OSError(22)
        old = self._get(a, n)
        new = bytes(buf)
        if not self._legal(old, new):
            self.violations += 1
            raise OSError(5)
        out = bytearray(old)
        if self._cut("program"):
            self._tear(out, new, self.torn)
            self._put(a, out)
            raise self._exc
        for i in range(n):
            out[i] &= new[i]
        self._put(a, out)
        self.progs += 1
        self.prog_bytes += n

    def _tear(self, out, new, mode):
        n = len(out)
        rng = self.rng
        if mode == "bits":
            for i in range(n):
                out[i] &= new[i] | rng.below(256)
            return
        m = n if mode == "all" else (0 if mode == "none" else rng.below(n + 1))
        if mode == "suffix":
            for i in range(m, n):
                out[i] &= new[i]
            if m:
                out[m - 1] &= new[m - 1] | rng.below(256)
            return
        for i in range(m):
            out[i] &= new[i]
        if mode == "prefix" and m < n:
            out[m] &= new[m] | rng.below(256)

    def _tear_erase(self, a, mode):
        if mode == "none":
            return
        m = self.bs if mode == "all" else self.rng.below(self.bs + 1)
        for c in range(0, self.bs, 256):  # 256 bytes at a time: small allocations only
            b = bytearray(self._get(a + c, 256))
            for i in range(256):
                if mode == "bits":
                    b[i] |= self.rng.below(256)
                elif c + i < m:
                    b[i] = 0xFF
            self._put(a + c, b)

    def _legal(self, old, new):
        o = int.from_bytes(old, "little")
        if o == (1 << (8 * len(old))) - 1:
            return True  # erased
        if self.once:
            for i in range(len(old)):
                if old[i] != 0xFF and new[i] != 0xFF:
                    return False
            return True
        return o | int.from_bytes(new, "little") == o  # no bit has to go from 0 to 1

    def ioctl(self, op, arg):
        if op == 4:
            return self.n
        if op == 5:
            return self.bs
        if op == 6:
            if self.dead:
                raise self._exc
            a = arg * self.bs
            if self._cut("erase"):
                self._tear_erase(a, self.torn)
                raise self._exc
            for i in range(0, self.bs, 256):
                self._put(a + i, self._ff)
            self.erases += 1
            self.wear[arg] += 1
            return 0
        return 0


class FastBlock:
    # The same protocol with counters only: no rules, no cuts. For timing.
    def __init__(self, bs=4096, n=64):
        self.bs = bs
        self.n = n
        self._ffb = b"\xff" * bs
        self.data = bytearray(bs * n)  # filled in place: no second image-sized copy
        for b in range(n):
            self.data[b * bs : b * bs + bs] = self._ffb
        self._mv = memoryview(self.data)
        self.reads = self.progs = self.erases = 0

    def readblocks(self, blk, buf, off=0):
        self.reads += 1
        a = blk * self.bs + off
        buf[:] = self._mv[a : a + len(buf)]

    def writeblocks(self, blk, buf, off=0):
        self.progs += 1
        a = blk * self.bs + off
        self.data[a : a + len(buf)] = buf

    def ioctl(self, op, arg):
        if op == 4:
            return self.n
        if op == 5:
            return self.bs
        if op == 6:
            self.erases += 1
            a = arg * self.bs
            self.data[a : a + self.bs] = self._ffb
        return 0
