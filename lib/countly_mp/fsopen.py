# fsopen.py - rebuilding an FsQueue's state from its files when it is opened (load), and
# finding its newest item (last). Both run about once per start-up, so fsqueue.py loads this
# module for the call and drops it after: a board does not keep it in its heap.

from .compat import const, is_missing
from .fsformat import is_nospc, unstamp
from .fsseg import walk
from .store import remove_quietly

# Segment fields, as in fsseg.py.
_FIRST = const(0)
_LAST = const(1)
_PATH = const(2)
_SIZE = const(3)
_LOFF = const(6)
_OPEN = const(0xFFFFFFFF)
_OVER = const(16)
_SSZ = const(20)


def last(q):
    # The newest item (seq, data) not acked yet, or None.
    for s in reversed(q._segs):
        if s[_LAST] <= q._acked:
            break
        r = None
        if s[_LOFF] >= _SSZ:  # a tail: its newest record's offset is known
            r = walk(q, s, s[_LOFF], s[_LAST] - 1, q._acked, False)
        r = r or scan(q, s, q._acked)
        r = r and walk(q, s, r[2], r[0] - 1, r[0] - 1, True)  # now with its bytes
        if r is not None:
            return r[0:2]
    return None


def scan(q, s, after):
    # (seq, None, start, end) of the newest whole item of s with seq > after, or None.
    r = None
    w = (s[_FIRST] - 1, 0, 0, _SSZ)
    while True:
        w = walk(q, s, w[3], w[0], max(w[0], after), False)
        if w is None:
            return r
        r = w


def read(q, path, n):
    try:
        f = q._open(path, "rb")
    except OSError as e:
        if is_missing(e):
            return None
        raise
    try:
        return f.read(n)
    finally:
        f.close()


def load(q):
    # Opening a queue: its state rebuilt from what is on storage. The segments are the truth.
    # Sealed segments are known from their names alone (first and last seq); the tail, which a
    # restart may have cut short, is read whole. The acked seq is the best of the two cursor
    # slots; when both are unreadable, what the newest segment's header says was acked when it
    # was created. A segment is deleted only once the cursor holds its last seq, so a gap is
    # damage: before a segment (its header names the newest item before it; checked when it
    # is first read) or at the end (the cursor names the newest item when it was written).
    # Left-overs are tidied: tails with nothing readable (a cut before their first write)
    # removed, older or damaged tails sealed, out-of-order segments counted and removed.
    best = None
    nxt = 0
    for i in (0, 1):
        raw = read(q, q._dir + "/c%d" % i, 64)
        v = unstamp(b"CQC2", raw)
        if v is None:
            q._rd.corrupt += raw is not None  # a damaged slot
            continue
        best = v[0] if best is None else max(best, v[0])
        nxt = max(nxt, v[1] + 1)
    segs = []
    noted = nxt - 1  # the newest item the cursor saw
    clean = q._rd.corrupt
    names = q._fs.listdir(q._dir)
    try:
        names += ["/" + name for name in q._fs.listdir(q._dir + "/s")]  # made at 1st seal
    except OSError:
        pass
    for name in names:
        # "/FIRSTLAST": sealed in s/; "sFIRSTLAST": sealed in place; "tFIRST": a tail.
        if len(name) == 17 and name[0] in "/s":
            try:
                a = int(name[1:9], 16)
                z = int(name[9:], 16)
            except ValueError:
                continue
            if a <= z:
                segs.append([a, z, q._dir + ("/s" if name[0] == "/" else "/") + name,
                             -1, 0, None, -1, 0])
        elif len(name) == 9 and name[0] == "t":
            try:
                s = [int(name[1:], 16), 0, q._dir + "/" + name, -1, 0, None, -1, 0]
            except ValueError:
                continue
            # A tail left by the last run, read whole to find its last item. Clean: nothing
            # damaged, nothing after its last record.
            before = q._rd.corrupt
            s[_LAST] = _OPEN
            r = scan(q, s, s[_FIRST] - 1)
            if q._rd.corrupt != before or r is None or r[3] != s[_SIZE]:
                # Damaged: no seq it may have held is handed out again (a record takes at
                # least 16 bytes; its first seq may have been handed out even when empty).
                nxt = max(nxt, s[_FIRST] + max(1, (s[_SIZE] - _SSZ) // _OVER))
                s[_SIZE] = -1 - s[_SIZE]  # < 0: never appended to again
            if r is None:  # nothing readable: a cut before its first write, or damage
                if q._rd.corrupt == before and s[_SIZE] < -1:
                    q._rd.corrupt += 1  # not empty: torn or damaged (LittleFS cuts leave 0)
                remove_quietly(q._fs, s[_PATH])
                continue
            s[_LAST], _, s[_LOFF], end = r
            segs.append(s)
    segs.sort(key=lambda s: s[_FIRST])
    for s in segs:
        if q._segs and s[_FIRST] <= q._segs[-1][_LAST]:
            q._rd.corrupt += 1  # overlaps an older segment: out of order
            remove_quietly(q._fs, s[_PATH])
            continue
        q._segs.append(s)
    acked = best or 0
    new = q._segs[-1] if q._segs else None
    if new is not None and best is None:
        # No cursor: what was acked when the newest segment was created. (Not the oldest
        # segment's first seq: a segment deleted by damage would pass for a consumed one.)
        h = unstamp(b"CQS2", read(q, new[_PATH], _SSZ))
        if h is not None and h[0] == new[_FIRST]:
            acked = min(h[1], new[_FIRST] - 1)
    if noted > max(acked, new[_LAST] if new else 0) and q._rd.corrupt == clean:
        # The cursor saw items no segment holds: the newest segment lost, or cut short at a
        # record boundary (else its damage was counted already).
        q._rd.corrupt += 1
    q._acked = acked
    q._dur = best or 0
    q._next = max(nxt, acked + 1, new[_LAST] + 1 if new else 0)
    for s in q._segs:
        if s[_PATH][len(q._dir) + 1] == "t":
            q._tail = s
            if s is new and s[_SIZE] > 0 and s[_LAST] + 1 == q._next:
                break  # appended to again
            try:
                q._seal()
            except OSError as e:
                if not is_nospc(e):
                    raise
    if acked and best != acked:
        try:
            q._put_cursor(acked)  # repair the slots from the evidence
        except OSError as e:
            if not is_nospc(e):
                raise
    q._gc()
    q._count()
    # Drops by the cap are not persisted (a cursor write per append), so the cap is enforced
    # again here. Not counted in dropped: the object before the restart counted them.
    while q._n > q.capacity:
        q._drop_one(False)
