# test_corruption.py - seeded damage to FsQueue's files and to checked store files.
#
# Each trial fills a queue (several segments), acknowledges a prefix, appends a little more,
# abandons the object (a reboot), damages one file (bit flips, truncation, a zeroed range,
# deletion; segment files, the tail, cursor slots) and reopens. Then:
#   - nothing raises, and nothing acknowledged comes back (the other cursor slot holds it);
#   - every item returned is exactly what was appended under that seq (never partial), in
#     ascending order;
#   - every waiting item whose bytes the damage did not change is returned (no wedge);
#   - len() agrees with what items() returned;
#   - "counted": if the damage changed a record of a waiting item, a segment header of a
#     segment holding waiting items, or made a cursor slot unreadable, corrupt > 0; it is
#     counted once (a second pass over the items adds nothing). Not countable: whole records
#     gone from the tail's end (the file deleted, emptied, or cut at a record boundary) when
#     no ack has named them since they were appended: that looks exactly like appends that
#     never happened (an ack writes the newest seq into the cursor, which then tells). Damage
#     confined to records already acknowledged is counted only if a read passes over it (the
#     segment still holds waiting items): a segment whose items are all acknowledged is
#     never read again. There is no padding in the format to damage.
#   - the queue keeps working: a new item gets a seq above every seq handed out before (not
#     checked when the tail file is deleted or cut short: how many items it held past the
#     cut is unknowable, so the seqs of those appended since the last ack may come again),
#     and acknowledging everything empties it across a reopen.
# Host files are used (both runtimes): the reading code does not depend on the filesystem.

import os
import struct
import sys

from countly_mp.fsqueue import FsQueue
from countly_mp.store import Store
from fakes import tmpdir
from xorshift import XorShift

MP = sys.implementation.name == "micropython"
TRIALS = 300 if MP else 500
HEAD = 20  # segment header and cursor slot (fsformat.py)


def _payload(i, n):
    return (b"%d|" % i + bytes([97 + i % 26]) * n)[: max(n, 1)]


def _files(d):
    out = [d + "/" + n for n in os.listdir(d) if n != "s"]
    if "s" in os.listdir(d):
        out += [d + "/s/" + n for n in os.listdir(d + "/s")]
    return sorted(out)


def _read(p):
    with open(p, "rb") as f:
        return f.read()


def _records(raw):
    # [(start, end, seq)] of a segment file's records, parsed from its undamaged bytes.
    out = []
    off = HEAD
    while off + 16 <= len(raw):
        seq, n = struct.unpack_from("<II", raw, off + 4)
        out.append((off, off + 16 + n, seq))
        off += 16 + n
    return out


def _clear(d):
    try:
        os.mkdir(d)
    except OSError:
        pass
    for p in _files(d):
        os.remove(p)
    try:
        os.rmdir(d + "/s")
    except OSError:
        pass


def _damage(rng, path, raw):
    # Returns the new bytes, or None when the file is deleted.
    kind = rng.below(5)
    b = bytearray(raw)
    if kind == 0 or not b:
        return None
    if kind == 1:  # bit flips
        for _ in range(1 + rng.below(3)):
            i = rng.below(len(b))
            b[i] ^= 1 << rng.below(8)
    elif kind == 2:  # truncation
        b = b[: rng.below(len(b))]
    elif kind == 3:  # a zeroed range
        i = rng.below(len(b))
        k = 1 + rng.below(64)
        b[i : i + k] = bytes(len(b[i : i + k]))
    else:  # garbage over a range
        i = rng.below(len(b))
        for j in range(i, min(len(b), i + 1 + rng.below(40))):
            b[j] = rng.below(256)
    return bytes(b)


def _trial(rng, d, stats):
    _clear(d)
    q = FsQueue(d, max_item=400, segment_size=1024)
    data = {}
    order = []
    for i in range(3 + rng.below(30)):
        b = _payload(i, rng.below(300))
        s = q.append(b)
        data[s] = b
        order.append(s)
    acked = noted = 0  # noted: the newest seq the cursor names (written by an ack)
    k = rng.below(len(order) + 1)
    if k:
        acked = order[k - 1]
        q.ack(acked)
        noted = order[-1]
    for i in range(rng.below(4)):
        b = _payload(100 + i, rng.below(200))
        s = q.append(b)
        data[s] = b
        order.append(s)
    top = order[-1]
    q = None  # abandoned, as at a power cut
    files = _files(d)
    before = {}
    for p in files:
        before[p] = _read(p)
    target = files[rng.below(len(files))]
    after = _damage(rng, target, before[target])
    if after is None:
        os.remove(target)
    else:
        with open(target, "wb") as f:
            f.write(after)
    name = target.rsplit("/", 1)[1]
    is_cursor = name in ("c0", "c1")
    changed = set()  # seqs whose records' bytes changed
    header_hit = False
    if not is_cursor:
        for start, end, seq in _records(before[target]):
            if after is None or after[start:end] != before[target][start:end]:
                changed.add(seq)
        header_hit = after is None or after[0:HEAD] != before[target][0:HEAD]
        header_hit = header_hit and [r for r in _records(before[target]) if r[2] > acked]
    elif after is not None and after[0:HEAD] != before[target][0:HEAD]:
        header_hit = True  # an unreadable cursor slot
    q = FsQueue(d, max_item=400, segment_size=1024)
    got = list(q.items())
    seqs = [s for s, _ in got]
    for i in range(len(seqs) - 1):
        assert seqs[i] < seqs[i + 1], ("order", seqs)
    for s, b in got:
        assert s > acked, ("acked item came back", s, acked, name)
        assert data.get(s) == b, ("item not as appended", s, name)
    waiting = [s for s in order if s > acked]
    for s in waiting:
        if s not in changed:
            assert s in seqs, ("intact item not delivered", s, name, seqs)
    assert len(q) == len(got), ("len", len(q), len(got))
    lost = [s for s in changed if s > acked]
    damaged = bool(lost) or header_hit
    # Whole records gone from the tail's end (deleted, or cut at a record boundary) that no
    # ack has named since look like appends that never happened: nothing to count them by.
    bounds = [0, HEAD] + [r[1] for r in _records(before[target])]
    cut = after is None or len(after) in bounds and before[target].startswith(after)
    if name[0] == "t" and cut and min(lost or [0]) > noted:
        damaged = header_hit = False
    if damaged:
        assert q.corrupt > 0, ("damage not counted", name, changed, acked)
        stats[0] += 1
    c = q.corrupt
    assert [s for s, _ in q.items()] == seqs and q.corrupt == c, "counted twice"
    assert q.peek() == (got[0] if got else None)
    s = q.append(b"new")
    # The tail deleted or cut short: what it held after the cut is unknowable, and the seqs
    # of items appended since the last ack (which records the newest seq) may come again.
    if not (name[0] == "t" and (after is None or len(after) < len(before[target]))):
        assert s > top, ("seq reused", s, top)
    assert list(q.items())[-1] == (s, b"new")
    q.ack(s)
    q = FsQueue(d, max_item=400, segment_size=1024)
    assert len(q) == 0 and list(q.items()) == []
    stats[1] += 1


def test_damaged_queue_files_skipped_counted_never_wedged():
    rng = XorShift(20240611)
    d = tmpdir("corrupt") + "/q"
    stats = [0, 0]
    for _ in range(TRIALS):
        _trial(rng, d, stats)
    print("corruption: %d trials, %d with waiting items or a cursor slot damaged, all counted"
          % (stats[1], stats[0]))
    assert stats[0] > TRIALS // 4


def test_damaged_checked_store_files_read_as_none_and_counted():
    rng = XorShift(7)
    st = Store(tmpdir("chk"), "APPKEY")
    n = counted = 0
    for i in range(TRIALS):
        value = b"device-%d-" % i + b"x" * rng.below(100)
        st.write_checked("device_id", value)
        p = st.path("device_id")
        raw = _read(p)
        after = _damage(rng, p, raw)
        if after is None:
            os.remove(p)
        else:
            with open(p, "wb") as f:
                f.write(after)
        c = st.corrupt
        got = st.read_checked("device_id")
        if after == raw:
            assert got == value
        elif after is None:
            assert got is None and st.corrupt == c  # missing: not damage
        else:
            assert got is None and st.corrupt == c + 1, (i, raw, after)
            counted += 1
        n += 1
    assert st.read_checked("nothing") is None
    print("checked store files: %d trials, %d damaged and counted" % (n, counted))
    assert counted > TRIALS // 2
