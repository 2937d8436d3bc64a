# test_powercut.py - FsQueue under random power cuts on real LittleFS.
# The flash (VfsLfs2 RAM device on MicroPython, littlefs-python on CPython) dies at a random
# device operation inside append, peek or ack; the in-flight program/erase is torn in one of
# ramblock.MODES (half, a random prefix, NOR-style missing bits, nothing, all).
# Then a fresh filesystem is mounted on the same bytes (reboot), the queue is reopened and
# checked against a model: no corrupt item, every append that returned is present unless
# acked or dropped by the cap, order holds, and a cut costs at most one re-delivered item.

import struct
import sys

from countly_mp.fsqueue import FsQueue
from fakes import tmpdir
from ramblock import MODES, Disk

from xorshift import XorShift

MP = sys.implementation.name == "micropython"
CUTS = 1000
CAP = 8


def _payload(idx, n):
    # "<HH" index and length, then a fill byte derived from the index.
    return struct.pack("<HH", idx & 0xFFFF, n) + bytes([(idx * 13 + 7) & 0xFF]) * (n - 4)


def _decode(data):
    idx, n = struct.unpack("<HH", data[0:4])
    assert len(data) == n, "length mismatch"
    assert data == _payload(idx, n), "corrupt item returned"
    return idx


def _check(got, model, op, new):
    # got: [(seq, idx)] after the reboot; model: [(seq, idx)] before the cut op.
    # op: "append" (new = (idx, returned)), "peek", "ack" (of model[0]).
    seqs = [s for s, _ in got]
    for i in range(1, len(seqs)):
        assert seqs[i] > seqs[i - 1], "order broken"
    assert len(got) <= CAP, "cap exceeded"
    starts = [0]
    if op == "ack" or (op == "append" and len(model) == CAP):
        starts.append(1)  # the item being acked / dropped may or may not be gone
    tails = [[]]
    if op == "append":
        tails = [[new[0]]] if new[1] else [[], [new[0]]]
    for s in starts:
        for t in tails:
            exp = [i for _, i in model[s:]] + t
            if [i for _, i in got] == exp:
                ok_seq = [q for q, _ in model[s:]] == seqs[: len(model) - s]
                assert ok_seq, "sequence numbers changed"
                return
    raise AssertionError("after %s cut: got %r, model %r" % (op, got, model))


def _run(seed, cuts):
    rng = XorShift(seed)
    # File-backed on MicroPython: the image stays out of the 128 KiB heap the queue runs in.
    disk = Disk(4096, 16, tmpdir("flash") + "/image")
    disk.format()
    dev = disk.dev
    fs, d = disk.mount()
    q = FsQueue(d, capacity=CAP, fs=fs)
    model = []
    hiseq = 0  # highest seq ever handed out or seen: never to be reused
    idx = 0
    done = 0
    trials = 0
    kmax = {"append": 8, "peek": 4, "ack": 8}
    stats = {"append": 0, "peek": 0, "ack": 0}
    while done < cuts:
        trials += 1
        r = rng.below(10)
        op = "append" if (r < 5 or not model) else ("peek" if r < 6 else "ack")
        n = 4 + rng.below(600)
        returned = False
        err = None
        start = dev.ops
        if rng.below(3):  # two trials in three are cut somewhere inside the call
            dev.arm(1 + rng.below(kmax[op]), MODES[rng.below(len(MODES))])
        try:
            if op == "append":
                seq = q.append(_payload(idx, n))
                returned = True
            elif op == "peek":
                got = q.peek()
            else:
                q.ack(model[0][0])
        except Exception as e:  # the cut, surfacing as OSError or the device's exception
            err = e
        dev.disarm()
        if not dev.fired:
            if err is not None:
                raise err
            kmax[op] = dev.ops - start + 2  # device ops the last such call took
            if op == "append":
                assert seq > hiseq, "sequence number reused"
                hiseq = seq
                model.append((seq, idx))
                if len(model) > CAP:
                    model.pop(0)
                idx += 1
            elif op == "peek":
                assert got is not None and got[0] == model[0][0], "peek"
                assert _decode(got[1]) == model[0][1]
            else:
                model.pop(0)
            assert len(q) == len(model)
            continue
        # Power cut: reboot on the same bytes and compare with the model.
        done += 1
        stats[op] += 1
        fs, d = disk.mount()
        q = FsQueue(d, capacity=CAP, fs=fs)
        got = [(s, _decode(b)) for s, b in q.items()]
        assert q.corrupt == 0, "a cut showed as damage: LittleFS writes are atomic"
        _check(got, model, op, (idx, returned))
        assert len(q) == len(got), "len after reboot"
        if op == "append":
            if returned:
                assert seq > hiseq, "sequence number reused"
            idx += 1
        model = got
        if got and got[-1][0] > hiseq:
            hiseq = got[-1][0]
    disk.unmount()
    print("powercut seed %d: %d cuts in %d trials %r" % (seed, done, trials, stats))
    return stats


def test_powercuts_append_peek_ack():
    stats = _run(12345, CUTS)
    assert stats["append"] > 100 and stats["peek"] > 50 and stats["ack"] > 100
