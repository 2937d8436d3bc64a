# test_ring_corrupt.py - RingQueue on flash with flipped bits (records, cursor entries, erased
# slots; while powered off and while running). Whatever is hit: no exception, no wedge (the
# queue still appends, reads and acks, and every walk ends), nothing but byte-exact items
# ever returned, in order, and damage that changes what is readable is counted in .corrupt.

import struct
import sys

from countly_mp.ringqueue import RingQueue
from fakes import tmpdir
from norblock import NorBlock
from xorshift import XorShift

MP = sys.implementation.name == "micropython"
BS = 1024
NB = 10
TRIALS = 150


def _payload(idx, n):
    b = bytearray(n)
    struct.pack_into("<HH", b, 0, idx, n)
    for i in range(4, n):
        b[i] = (idx * 13 + i) & 0xFF
    return bytes(b)


def _valid(s, b, sent):
    # The item is exactly one that was appended, under the seq append returned for it.
    idx, n = struct.unpack("<HH", b[0:4])
    return sent.get(s) == idx and b == _payload(idx, n)


def _open(dev):
    return RingQueue(dev, 0, NB, capacity=1000, max_item=600)


def _read_all(q, sent, exact=True):
    got = []
    prev = 0
    for s, b in q.items():
        assert _valid(s, b, sent), "wrong item returned"
        assert s > prev, "order broken"
        prev = s
        got.append(s)
    assert len(q) == len(got) or not exact
    return got


def _flip_used(dev, rng, q):
    # A random bit in the cursor sectors or in a ring record, biased to programmed bytes.
    for _ in range(16):
        a = rng.below(BS * NB)
        if rng.below(4) == 0:
            a = rng.below(2 * BS)  # the cursor sectors are small: hit them often
        if dev._get(a, 1) != b"\xff" or rng.below(8) == 0:
            dev.flip(a, rng.below(8))
            return a
    return None


def test_bit_flips_while_powered_off():
    rng = XorShift(99)
    path = tmpdir("ringc") + "/flash" if MP else None
    hit = counted = 0
    for t in range(TRIALS):
        dev = NorBlock(BS, NB, path=path, once=True, seed=t + 1)
        q = _open(dev)
        sent = {}
        for i in range(10 + rng.below(40)):
            sent[q.append(_payload(i, 4 + rng.below(300)))] = i
            if rng.below(4) == 0:
                q.ack(q.peek()[0])
        want = _read_all(q, sent)
        for _ in range(1 + rng.below(3)):
            _flip_used(dev, rng, q)
        q = _open(dev)
        got = _read_all(q, sent)
        if got != want:
            hit += 1
            assert q.corrupt > 0, "damage not counted"
            counted += 1
        # no wedge: the queue goes on, and what it accepts now survives a reopen
        top = max(got + [0])
        new = []
        for i in range(5):
            s = q.append(_payload(1000 + i, 100 + 50 * i))
            assert s > top, "a readable seq was reused"
            sent[s] = 1000 + i
            new.append(s)
        assert _read_all(q, sent)[-5:] == new
        q.ack(new[1])
        q = _open(dev)
        after = _read_all(q, sent)
        assert after[-3:] == new[2:] and new[1] not in after
        assert dev.violations == 0
    print("corrupt trials: %d, %d changed what is readable, all counted" % (TRIALS, hit))
    assert hit > TRIALS // 10 and counted == hit


def test_bit_flips_while_running():
    rng = XorShift(7)
    path = tmpdir("ringr") + "/flash" if MP else None
    for t in range(40):
        dev = NorBlock(BS, NB, path=path, once=True, seed=t + 1)
        q = _open(dev)
        sent = {}
        for i in range(20):
            sent[q.append(_payload(i, 50 + 20 * i))] = i
        # a flip inside a waiting record: the item it belongs to is skipped, and counted
        victim = 3 + rng.below(15)
        pos = q._tail
        while True:
            r = q._item(pos, 0, False)
            if r[0] == victim:
                break
            pos = r[3]
        slot = r[2] + rng.below(r[3] - r[2])
        sec = (q._o + slot // q._per) % q._nsec
        a = (2 + sec) * BS + (slot % q._per) * 128 + rng.below(128)
        dev.flip(a, rng.below(8))
        got = _read_all(q, sent, False)
        assert victim not in got and len(got) == 19 and q.corrupt == 1
        assert len(q) == 20  # counted at open; corrected when the queue runs empty
        _read_all(q, sent, False)
        assert q.corrupt == 1  # counted once
        while True:
            p = q.peek()
            if p is None:
                break
            assert _valid(p[0], p[1], sent)
            q.ack(p[0])
        assert len(q) == 0
        q.append(b"after")
        assert q.peek()[1] == b"after"
        assert dev.violations == 0
