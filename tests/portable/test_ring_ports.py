# test_ring_ports.py - the ports' make_queue hook: the unix port's ring in a block file
# (ports/unix/countly_blockfile.py) and the ESP32 port's ring on a `countly` data partition
# (with the fake esp32.Partition of tests/esp32/fakes). Both interpreters.

import os
import sys

from countly_mp.ringqueue import RingQueue
from fakes import tmpdir

MP = sys.implementation.name == "micropython"


class _Store:
    # What the core passes as `store`: only its folder (one per app key) is used.
    def __init__(self, d):
        self.dir = d


def _root():
    for p in sys.path:
        if p.endswith("tests/support"):
            return p[: -len("tests/support")]
    return "./"


def _esp32_port():
    # The ESP32 countly_port under another name: the unix one owns `countly_port` here.
    root = _root()
    saved = sys.modules.pop("countly_port", None)
    sys.path.insert(0, root + "tests/esp32/fakes")
    sys.path.insert(0, root + "ports/esp32")
    try:
        import countly_port as esp
        import esp32
    finally:
        sys.path.pop(0)
        sys.path.pop(0)
        sys.modules.pop("countly_port", None)
        if saved is not None:
            sys.modules["countly_port"] = saved
    return esp, esp32


def test_unix_port_ring_in_a_block_file():
    import countly_port

    d = tmpdir("ringport")
    s = _Store(d + "/app1")
    assert countly_port.Platform(storage_root=d).make_queue("rq", 100, 5184, s) is None
    p = countly_port.Platform(storage_root=d, queue="ring", ring_path=d + "/ring.img",
                              ring_blocks=24)
    rq = p.make_queue("rq", 100, 5184, s)
    eq = p.make_queue("eq", 50, 5184, s)
    assert isinstance(rq, RingQueue) and isinstance(eq, RingQueue)
    assert rq.capacity == 100 and eq.capacity == 50 and rq.max_item >= 5184
    assert rq._c0 == 0 and rq._base + rq._nsec <= eq._c0 and eq._base + eq._nsec <= 24
    assert os.stat(d + "/ring.img")[6] == 24 * 4096
    rq.append(b"request")
    eq.append(b"event")
    # a new process: the file keeps its size whatever ring_blocks says
    p2 = countly_port.Platform(storage_root=d, queue="ring", ring_path=d + "/ring.img",
                               ring_blocks=99)
    assert p2.make_queue("rq", 100, 5184, s).peek() == (1, b"request")
    assert p2.make_queue("eq", 100, 5184, s).peek() == (1, b"event")
    other = p2.make_queue("rq", 100, 5184, _Store(d + "/app2"))  # another app key
    assert len(other) == 0 and other.corrupt > 0
    # too small to split: the core keeps its files
    small = countly_port.Platform(storage_root=d, queue="ring", ring_path=d + "/small.img",
                                  ring_blocks=8)
    assert small.make_queue("rq", 100, 5184, s) is None


def test_esp32_port_ring_on_the_countly_partition():
    esp, esp32 = _esp32_port()
    esp32.clear_partitions()
    s = _Store("/countly/abc")
    assert esp.Platform().make_queue("rq", 100, 5184, s) is None  # no partition
    d = tmpdir("ringesp")
    esp32.add_partition("countly", 256 * 1024, path=d + "/countly.bin")
    p = esp.Platform()
    rq = p.make_queue("rq", 1000, 5184, s)
    eq = p.make_queue("eq", 1000, 5184, s)
    assert isinstance(rq, RingQueue) and isinstance(eq, RingQueue)
    assert rq._nsec == 30 and eq._nsec == 30 and rq._base + rq._nsec == eq._c0
    for i in range(40):
        eq.append(b"event %d" % i)
    rq.append(b"x" * 5184)
    assert esp.Platform(ring_label=None).make_queue("rq", 100, 5184, s) is None
    # reboot: a new process finds the partition table and the bytes again
    esp32.clear_partitions()
    part = esp32.add_partition("countly", 256 * 1024, path=d + "/countly.bin")
    p = esp.Platform()
    eq = p.make_queue("eq", 1000, 5184, s)
    rq = p.make_queue("rq", 1000, 5184, s)
    assert len(eq) == 40 and eq.peek() == (1, b"event 0") and rq.peek() == (1, b"x" * 5184)
    e0 = part.erases
    for i in range(40, 100):
        eq.append(b"event %d" % i)
    assert part.erases - e0 <= 2  # 60 one-record events: 2 sectors of 32 records
    # the fake keeps NOR rules: no programming over programmed bytes without an erase
    try:
        part.writeblocks(2, b"\x00" * 16, 0)
        part.writeblocks(2, b"\x01" * 16, 0)
        raise AssertionError("programmed a 0 bit back to 1")
    except OSError:
        pass
    esp32.clear_partitions()
    esp32.add_partition("countly", 32 * 1024, path=d + "/small.bin")  # too small for two rings
    assert esp.Platform().make_queue("eq", 100, 5184, s) is None
    esp32.clear_partitions()
