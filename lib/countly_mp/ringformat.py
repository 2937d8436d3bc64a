# ringformat.py - the bytes RingQueue (ringqueue.py) programs into a raw flash region, and how
# a partition is split between the request and the event queue.
#
# Record (record_size bytes, one slot of a sector, programmed once between two erases):
#   "<HHHHI" magic, part, nparts, total_len, seq | payload, 0xFF padded | crc32 u32
# Cursor entry (16 bytes, append-only in the two cursor sectors):
#   "<HHII" magic, 0, acked, hi | crc32 u32
# Both crcs are seeded with the region's geometry (first block, block count, record size) and
# the owner's tag (the store folder, one per app key), so records left by another layout of
# the partition or by another app key never pass as ours. The crc is the last
# field and covers every other byte: a torn program (some bits of the record still 1) fails it,
# and so does an erased slot (all 0xFF; the magic alone already rules it out).

import binascii
import struct

MAGIC = 0x5152  # "RQ"
CMAGIC = 0x4352  # "RC"
HDR = "<HHHHI"
HSZ = 12  # header bytes before the payload
OVERHEAD = HSZ + 4  # header + crc
ESZ = 16  # cursor entry size


def seed(first, nblocks, rs, tag=None):
    s = binascii.crc32(struct.pack("<HHII", MAGIC, rs, first, nblocks))
    if tag:
        s = binascii.crc32(tag, s)
    return s & 0xFFFFFFFF


def encode_record(buf, off, rs, part, nparts, total, seq, data, pos, sd, ff):
    # Record `part` of an item into buf[off:off+rs]; its payload is data[pos:pos+rs-16]
    # (data: a memoryview), padded with 0xFF (unprogrammed: the fewest bits to program).
    # ff: rs bytes of 0xFF.
    pay = rs - OVERHEAD
    buf[off : off + rs] = ff
    struct.pack_into(HDR, buf, off, MAGIC, part, nparts, total, seq)
    n = min(pay, total - pos)
    o = off + HSZ
    if n > 0:
        buf[o : o + n] = data[pos : pos + n]
    mv = memoryview(buf)
    crc = binascii.crc32(mv[off : off + rs - 4], sd) & 0xFFFFFFFF
    struct.pack_into("<I", buf, off + rs - 4, crc)


def check_record(b, mv, rs, sd):
    # (part, nparts, total, seq) of the record in b, or None when it is erased, torn or corrupt.
    h = struct.unpack_from(HDR, b, 0)
    if h[0] != MAGIC or h[1] >= h[2]:
        return None
    if binascii.crc32(mv[0 : rs - 4], sd) & 0xFFFFFFFF != struct.unpack_from("<I", b, rs - 4)[0]:
        return None
    pay = rs - OVERHEAD
    if h[2] != ((h[3] + pay - 1) // pay or 1):
        return None
    return (h[1], h[2], h[3], h[4])


def encode_entry(buf, acked, hi, sd):
    struct.pack_into("<HHII", buf, 0, CMAGIC, 0, acked, hi)
    crc = binascii.crc32(memoryview(buf)[0:12], sd ^ 0x5A5A5A5A) & 0xFFFFFFFF
    struct.pack_into("<I", buf, 12, crc)


def check_entry(b, off, sd):
    # (acked, hi) of the cursor entry at b[off:off+16], or None.
    m, z, acked, hi, crc = struct.unpack_from("<HHIII", b, off)
    if m != CMAGIC or z != 0:
        return None
    if binascii.crc32(memoryview(b)[off : off + 12], sd ^ 0x5A5A5A5A) & 0xFFFFFFFF != crc:
        return None
    return (acked, hi)


def split(nblocks, eq_percent=50):
    # ((rq_first, rq_blocks), (eq_first, eq_blocks)) of a partition of nblocks sectors, or
    # None when it is too small for two rings of at least 4 sectors (12 sectors, 48 KiB).
    # Each region keeps its own two cursor sectors; the event queue takes eq_percent of the
    # ring sectors, the request queue the rest: see docs/ring.md for why.
    ring = nblocks - 4
    eq = min(ring - 4, max(4, ring * eq_percent // 100))
    if eq < 4:
        return None
    return ((0, ring - eq + 2), (ring - eq + 2, eq + 2))
