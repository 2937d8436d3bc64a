# compat.py - the one place where CPython and MicroPython differ inside the core.
# Every try/except import of the core lives here so the other modules stay byte-identical and
# read the same on both runtimes.

import sys

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


MICROPYTHON = sys.implementation.name == "micropython"

import json
import binascii
import hashlib
from binascii import crc32  # noqa: F401 - re-exported, no wrapper: one function less in RAM
from json import loads  # noqa: F401


def dumps(obj):
    # Compact JSON with raw UTF-8 on both runtimes: MicroPython always emits raw non-ASCII and has
    # no ensure_ascii keyword, so CPython is told to do the same. Identical bytes on the wire.
    if MICROPYTHON:
        return json.dumps(obj, separators=(",", ":"))
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(data):
    # MicroPython hashes have no hexdigest(); hexlify the digest instead.
    return binascii.hexlify(hashlib.sha256(data).digest()).decode()


def digest_hex(h):
    return binascii.hexlify(h.digest()).decode()


def sha1_hex(data):
    return binascii.hexlify(hashlib.sha1(data).digest()).decode()


def urandom(n):
    import os

    return os.urandom(n)


def exception_text(exc):
    # The runtime's own traceback text: sys.print_exception on MicroPython, traceback on CPython.
    if MICROPYTHON:
        import io

        buf = io.StringIO()
        sys.print_exception(exc, buf)
        return buf.getvalue()
    import traceback

    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def is_int(x):
    # bool is not an int here, on either runtime (MicroPython already says so).
    return type(x) is int


def is_number(x):
    if type(x) is int:
        return True
    if type(x) is float:
        # NaN and infinities cannot be written as JSON: x != x catches NaN.
        return x == x and x not in (float("inf"), float("-inf"))
    return False


def is_missing(exc):
    # FileNotFoundError does not exist on MicroPython; both raise OSError with ENOENT.
    import errno

    return isinstance(exc, OSError) and exc.args and exc.args[0] == errno.ENOENT


def drop_module(name):
    # Forgets a countly_mp submodule that was needed once (start-up checks): nothing refers to
    # it any more, so the next collection gives its bytecode back to the heap.
    sys.modules.pop("countly_mp." + name, None)
    pkg = sys.modules.get("countly_mp")
    if pkg is not None and name in pkg.__dict__:
        del pkg.__dict__[name]


def call_cold(name, function, *args):
    # countly_mp.<name>.<function>(*args) for code that runs rarely: the module is loaded for
    # the call and dropped after, unless it was loaded already (Countly() loads the modules
    # start-up needs together and drops them together: one piece of heap given back).
    held = ("countly_mp." + name) in sys.modules
    mod = __import__("countly_mp." + name, None, None, [function])
    try:
        return getattr(mod, function)(*args)
    finally:
        mod = None
        if not held:
            drop_module(name)


def compact(threshold):
    # MicroPython: collect every `threshold` bytes allocated, or restore the threshold given
    # (-1: only when the heap is full). While long-lived objects are made (init, a feature's
    # code), frequent collections keep them packed low in the heap instead of scattered among
    # garbage across the free space, so a large block can still be found afterwards.
    # -> the threshold in force before. CPython: nothing (-1).
    if not MICROPYTHON:
        return -1
    import gc

    before = gc.threshold()
    gc.threshold(threshold)
    return before


def collect():
    # Before a network exchange on MicroPython: the socket, TLS and response buffers then
    # come out of one defragmented heap. CPython needs no help (and a full collection there
    # costs milliseconds per request).
    if MICROPYTHON:
        import gc

        gc.collect()
