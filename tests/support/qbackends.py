# qbackends.py - the registry of queue backends that tests/portable/test_queue_contract.py runs
# the queue contract (docs/internals.md) against.
#
# A backend is a module in tests/support with:
#   make(capacity, max_item) -> (queue, reopen)
#       a queue on fresh, empty storage of its own; reopen() simulates a reboot (power off,
#       power on: the old object is abandoned, never closed) and returns a new queue object
#       on the same storage with the same capacity and max_item.
#   OWNS_STORAGE: True when the queue's storage is its own (a ring on a raw partition): it
#       drops its own oldest items when full and never raises ENOSPC. False when it shares a
#       filesystem and raises OSError(ENOSPC) for the caller to make room.
#   fill(queue) -> int (optional): appends until storage is full and returns how many items
#       went in. For OWNS_STORAGE backends it appends until the oldest items start to go.
#
# Backends whose module does not import (not written yet, or a runtime without what they
# need) are skipped with a printed note, never failed.

NAMES = ("qb_fs", "qb_ring")
_found = []


def available():
    if not _found:
        for name in NAMES:
            try:
                _found.append((name, __import__(name)))
            except ImportError as e:
                _found.append((name, None))
                print("queue contract: backend %s skipped (%s)" % (name, e))
    return [(n, m) for n, m in _found if m is not None]
