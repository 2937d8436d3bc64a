# fastblock.py - the smallest RAM flash that real LittleFS runs on, for timing.
#
# ramblock.py counts every read, program and erase and can cut the power at any of them; that
# bookkeeping costs more per call than littlefs itself, so timings taken on it measure the
# test device. This device does the bytes and counts erases only (wear), nothing else.
# FastDisk has the same format()/mount() as ramblock.Disk: mount() returns (fs, dirpath).

import sys

from ramblock import Disk

MP = sys.implementation.name == "micropython"


class FastDev:
    # MicroPython VfsLfs2 block device, extended protocol.
    def __init__(self, bs, n):
        self.bs = bs
        self.n = n
        self.data = bytearray(bs * n)
        self.mv = memoryview(self.data)
        self.ff = b"\xff" * bs
        for i in range(n):
            self.mv[i * bs : (i + 1) * bs] = self.ff
        self.erases = 0

    def revive(self):
        pass  # no power cuts here

    def readblocks(self, blk, buf, off=0):
        a = blk * self.bs + off
        buf[:] = self.mv[a : a + len(buf)]

    def writeblocks(self, blk, buf, off=None):
        if off is None:
            off = 0
            for i in range(len(buf) // self.bs):
                self.ioctl(6, blk + i)
        a = blk * self.bs + off
        self.mv[a : a + len(buf)] = buf

    def ioctl(self, op, arg):
        if op == 4:
            return self.n
        if op == 5:
            return self.bs
        if op == 6:
            a = arg * self.bs
            self.mv[a : a + self.bs] = self.ff
            self.erases += 1
        return 0


try:
    import littlefs

    class FastContext(littlefs.UserContext):
        # littlefs-python user context with the same single counter.
        def __init__(self, bs, n):
            self.bs = bs
            self.n = n
            self.buffer = bytearray(b"\xff") * (bs * n)
            self.in_size = len(self.buffer)
            self.ff = b"\xff" * bs
            self.erases = 0

        def revive(self):
            pass

        def read(self, cfg, block, off, size):
            a = block * self.bs + off
            return self.buffer[a : a + size]

        def prog(self, cfg, block, off, data):
            a = block * self.bs + off
            self.buffer[a : a + len(data)] = data
            return 0

        def erase(self, cfg, block):
            a = block * self.bs
            self.buffer[a : a + self.bs] = self.ff
            self.erases += 1
            return 0

        def sync(self, cfg):
            return 0

except ImportError:
    littlefs = None


class FastDisk(Disk):
    # ramblock.Disk's format()/mount()/unmount() on the bare device, each image mounted at a
    # place of its own (several may be mounted at once).
    _count = [0]

    def __init__(self, bs=4096, n=256):
        self._count[0] += 1
        self.MOUNT = "/qf%d" % self._count[0]
        self.dev = FastDev(bs, n) if MP else FastContext(bs, n)
        self.bs = bs
        self.n = n
        self._mounted = False
