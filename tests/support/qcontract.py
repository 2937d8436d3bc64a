# qcontract.py - the queue contract of docs/internals.md, clause by clause, for one backend.
# tests/portable/test_queue_contract_fs.py and test_queue_contract_ring.py run every clause
# against theirs: one backend per MicroPython process, whose 128 KiB heap then holds one queue
# implementation only.
#
# A backend is a module in tests/support (qb_fs.py, qb_ring.py) with:
#   make(capacity, max_item) -> (queue, reopen)
#       a queue on fresh, empty storage of its own; reopen() simulates a reboot (power off,
#       power on: the old object is abandoned, never closed) and returns a new queue object
#       on the same storage with the same capacity and max_item.
#   OWNS_STORAGE: True when the queue's storage is its own (a ring on a raw partition): it
#       drops its own oldest items when full and never raises ENOSPC. False when it shares a
#       filesystem and raises OSError(ENOSPC) for the caller to make room.
#   fill(queue) -> int (optional): appends until storage is full and returns how many items
#       went in. For OWNS_STORAGE backends it appends until the oldest items start to go.

MAX = 5184  # what the core asks for: one request of the budget and its flag line


def _item(i, n):
    # Content that names its index, so a mix-up or a partial item shows.
    head = b"%d:" % i
    return (head + bytes([65 + i % 26]) * max(0, n - len(head)))[:n] if n else b""


def _each(backend, capacity=100, max_item=MAX):
    mod = __import__(backend)
    q, reopen = mod.make(capacity, max_item)
    yield backend, mod, q, reopen


def _seqs(q, **kw):
    return [s for s, _ in q.items(**kw)]


def empty_queue(backend):
    for name, _mod, q, _reopen in _each(backend):
        assert len(q) == 0 and q.dropped == 0 and q.corrupt == 0, name
        assert q.peek() is None and q.peek_last() is None, name
        assert list(q.items()) == [] and q.drop_oldest() == 0, name
        q.ack(10)  # nothing to acknowledge: no error, nothing changes
        assert len(q) == 0 and q.max_item >= MAX, name


def append_is_durable_fifo_with_increasing_seqs(backend):
    sizes = (0, 1, 100, 113, 1000, 4096, MAX)
    for name, _mod, q, reopen in _each(backend):
        seqs = [q.append(_item(i, n)) for i, n in enumerate(sizes)]
        assert all(seqs[i] < seqs[i + 1] for i in range(len(seqs) - 1)), (name, seqs)
        assert seqs[0] > 0 and len(q) == len(sizes), name
        for q2 in (q, reopen()):  # durable when append returned: a reboot keeps them all
            got = list(q2.items())
            assert [s for s, _ in got] == seqs, name
            assert [d for _, d in got] == [_item(i, n) for i, n in enumerate(sizes)], name
            assert q2.peek() == (seqs[0], b"") and len(q2) == len(sizes), name
            assert q2.peek_last() == (seqs[-1], _item(len(sizes) - 1, MAX)), name
            assert q2.corrupt == 0, name
        q = q2
        assert q.append(b"next") > seqs[-1], name


def too_large_item_is_refused_and_nothing_written(backend):
    for name, _mod, q, reopen in _each(backend, max_item=2000):
        assert q.max_item >= 2000, name
        s1 = q.append(b"a")
        try:
            q.append(b"x" * (q.max_item + 1))
            raise AssertionError("%s: expected ValueError" % name)
        except ValueError:
            pass
        assert len(q) == 1 and _seqs(q) == [s1], name
        s2 = q.append(b"y" * q.max_item)
        assert s2 > s1, name
        q = reopen()
        assert _seqs(q) == [s1, s2], name


def items_after_and_limit(backend):
    for name, _mod, q, _reopen in _each(backend):
        seqs = [q.append(_item(i, 50 + i)) for i in range(12)]
        assert _seqs(q, limit=3) == seqs[:3], name
        assert _seqs(q, after=seqs[4]) == seqs[5:], name
        assert _seqs(q, after=seqs[4], limit=2) == seqs[5:7], name
        assert _seqs(q, after=seqs[-1]) == [], name
        assert _seqs(q, limit=0) == [], name
        q.ack(seqs[5])
        # after defaults to the oldest waiting; nothing consumed ever comes back
        assert _seqs(q) == seqs[6:] and _seqs(q, after=seqs[1]) == seqs[6:], name
        assert dict(q.items())[seqs[8]] == _item(8, 58), name


def ack_consumes_durably_and_seqs_are_never_reused(backend):
    for name, _mod, q, reopen in _each(backend):
        seqs = [q.append(_item(i, 300)) for i in range(20)]
        q.ack(seqs[6])
        assert len(q) == 13 and q.peek()[0] == seqs[7], name
        q.ack(seqs[3])  # behind the cursor: no effect
        assert len(q) == 13, name
        q = reopen()
        assert len(q) == 13 and _seqs(q) == seqs[7:], name
        q.ack(seqs[-1] + 1000)  # beyond the newest: everything that exists, no more
        assert len(q) == 0 and q.peek() is None and q.peek_last() is None, name
        q = reopen()
        assert len(q) == 0 and list(q.items()) == [], name
        s = q.append(b"after")
        assert s > seqs[-1], name
        q = reopen()
        assert q.append(b"again") > s, name
        assert q.dropped == 0 and q.corrupt == 0, name


def capacity_drops_the_oldest_counted_and_is_settable_at_run_time(backend):
    for name, _mod, q, _reopen in _each(backend, capacity=5):
        seqs = [q.append(_item(i, 200)) for i in range(8)]
        assert len(q) == 5 and q.dropped == 3 and _seqs(q) == seqs[3:], name
        q.capacity = 3  # from the next append on
        assert len(q) == 5, name
        s = q.append(b"x")
        assert len(q) == 3 and q.dropped == 6 and _seqs(q) == seqs[6:] + [s], name
        q.capacity = 10
        more = [q.append(_item(i, 10)) for i in range(4)]
        assert len(q) == 7 and q.dropped == 6, name
        assert _seqs(q) == seqs[6:] + [s] + more, name


def drop_oldest_frees_a_unit_counted_and_durable(backend):
    for name, _mod, q, reopen in _each(backend, capacity=1000):
        seqs = [q.append(_item(i, 700)) for i in range(60)]
        n = q.drop_oldest()
        assert n >= 1 and q.dropped == n and len(q) == 60 - n, (name, n)
        assert _seqs(q) == seqs[n:] and q.peek()[0] == seqs[n], name
        q = reopen()
        assert _seqs(q) == seqs[n:], name  # durable like ack
        total = n
        while len(q):
            k = q.drop_oldest()
            assert k >= 1, name
            total += k
        assert total == 60 and q.drop_oldest() == 0, name
        assert q.append(b"z") > seqs[-1], name


def storage_full(backend):
    # Full shared storage: OSError(ENOSPC) with the queue unchanged, room made by the caller.
    # Storage of its own: the oldest go, counted, and append never raises.
    for name, mod, q, reopen in _each(backend, capacity=100000):
        fill = getattr(mod, "fill", None)
        if fill is None:
            print("queue contract: %s has no fill(), storage-full clause not run" % name)
            continue
        n = fill(q)
        assert n > 0, name
        if mod.OWNS_STORAGE:
            assert q.dropped > 0 and len(q) == n - q.dropped, name
            continue
        before = _seqs(q)
        last = before[-1]
        for _ in range(3):
            try:
                q.append(b"x" * 1000)
                raise AssertionError("%s: expected ENOSPC" % name)
            except OSError as e:
                assert e.args[0] == 28, (name, e)
        assert _seqs(q) == before and len(q) == len(before) and q.dropped == 0, name
        assert q.drop_oldest() >= 1, name
        s = q.append(b"x" * 1000)
        assert s > last, name  # a seq is never handed out twice
        q = reopen()
        got = _seqs(q)
        assert got[-1] == s and all(x in before for x in got[:-1]), name
        assert q.corrupt == 0, name
