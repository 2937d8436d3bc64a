# qb_ring.py - the RingQueue backend for the queue contract tests: make(capacity, max_item)
# -> (queue, reopen). reopen() is a reboot: a new RingQueue on the same flash bytes, with the
# capacity the last queue had. The flash is a NOR device that refuses any program over a
# programmed byte (norblock.py, once=True); on MicroPython its image is a host file, so
# several queues can live at once outside the 128 KiB heap.

import sys

from countly_mp.ringqueue import RingQueue
from norblock import NorBlock

MP = sys.implementation.name == "micropython"
BS = 4096
RS = 128


def blocks_for(max_item, spare=20):
    # Two cursor sectors and a ring that holds the largest item several times over, and the
    # contract tests' backlogs (60 items of 700 bytes) without dropping any to make room.
    pay = RS - 16
    k = (max_item + pay - 1) // pay or 1
    span = (k + BS // RS - 2) // (BS // RS) + 1
    return 2 + max(span + 2, spare)


def make(capacity, max_item):
    n = blocks_for(max_item)
    path = None
    if MP:
        from fakes import tmpdir

        path = tmpdir("ring") + "/flash"
    dev = NorBlock(BS, n, path=path, once=True)
    box = [RingQueue(dev, 0, n, capacity=capacity, max_item=max_item)]

    def reopen():
        dev.revive()
        box[0] = RingQueue(dev, 0, n, capacity=box[0].capacity, max_item=max_item)
        return box[0]

    return box[0], reopen
