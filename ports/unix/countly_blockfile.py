# countly_blockfile.py - a pre-allocated host file used as a raw flash partition, so the unix
# port (CPython or unix MicroPython) can keep its queues in RingQueues like an ESP32 with a
# `countly` partition. MicroPython's extended block protocol over a file of N blocks:
#   readblocks(block, buf, offset)    reads
#   writeblocks(block, buf, offset)   writes the bytes in place (a "program")
#   ioctl(6, block)                   erase: 0xFF over the block
#   ioctl(4) / ioctl(5)               block count / block size
# Every write is flushed and synced before the call returns (fsync on CPython; on unix
# MicroPython flush() is the fsync), so what a call wrote survives the process being killed.
# A file that exists keeps its own size: the rings' layout follows it (the block count given
# is only used to create the file).

import os
import sys

_MP = sys.implementation.name == "micropython"
_EIO = 5


class BlockFile:
    def __init__(self, path, nblocks=64, bs=4096):
        self.bs = bs
        try:
            size = os.stat(path)[6]
        except OSError:
            size = None
        if size is None:
            with open(path, "wb") as f:
                ff = b"\xff" * bs
                for _ in range(nblocks):
                    f.write(ff)
            size = nblocks * bs
        if size == 0 or size % bs:
            raise ValueError("%s: %d bytes is not a whole number of %d-byte blocks"
                             % (path, size, bs))
        self.n = size // bs
        self.f = open(path, "r+b")

    def _sync(self):
        self.f.flush()
        if not _MP:
            os.fsync(self.f.fileno())

    def readblocks(self, blk, buf, off=0):
        self.f.seek(blk * self.bs + off)
        if self.f.readinto(buf) != len(buf):
            raise OSError(_EIO)

    def writeblocks(self, blk, buf, off=None):
        if off is None:  # simple protocol: whole blocks, erased first
            for i in range(len(buf) // self.bs):
                self.ioctl(6, blk + i)
            off = 0
        if blk < 0 or blk * self.bs + off + len(buf) > self.n * self.bs:
            raise OSError(_EIO)
        self.f.seek(blk * self.bs + off)
        self.f.write(buf)
        self._sync()

    def ioctl(self, op, arg):
        if op == 4:
            return self.n
        if op == 5:
            return self.bs
        if op == 6:
            if arg < 0 or arg >= self.n:
                raise OSError(_EIO)
            self.f.seek(arg * self.bs)
            self.f.write(b"\xff" * self.bs)
            self._sync()
        return 0

    def close(self):
        self.f.close()


def ring_queue(dev, name, capacity, max_item, store=None, eq_percent=50):
    # The RingQueue of `name` ("rq" or "eq") in its share of the block file. ValueError when
    # the file is too small to split (ringformat.split) or its share for max_item.
    from countly_mp.ringformat import split
    from countly_mp.ringqueue import RingQueue

    regions = split(dev.ioctl(4, 0), eq_percent)
    if regions is None:
        raise ValueError("%d blocks are too few for two rings" % dev.ioctl(4, 0))
    first, n = regions[1 if name == "eq" else 0]
    tag = getattr(store, "dir", None)
    return RingQueue(dev, first, n, capacity=capacity, max_item=max_item,
                     tag=tag.encode() if tag else None)
