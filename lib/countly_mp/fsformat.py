# fsformat.py - the bytes fsqueue.py puts on flash: fixed-size records and the cursor.
#
# Record: "<HBBII" magic, part, nparts, seq, total_len | crc32 u32 | payload (zero padded).
# The crc covers the whole record except itself, so a half-programmed record never passes.
# Cursor: "<HII" magic, acked seq, crc32 of the first 6 bytes: 10 B, small enough for
# LittleFS to keep inline in its directory entry (no data block, no erase of its own).

import binascii
import struct

MAGIC = 0x5146
CMAGIC = 0x4351
HDR = "<HBBII"
HSZ = 16  # 12 B header + 4 B crc


def encode_item(data, seq, k, rs, pay):
    # The k records of one item, in one buffer, ready for a single write().
    n = len(data)
    buf = bytearray(k * rs)
    mv = memoryview(buf)
    dv = memoryview(data)
    for j in range(k):
        o = j * rs
        p = j * pay
        m = min(pay, n - p)
        struct.pack_into(HDR, buf, o, MAGIC, j, k, seq, n)
        if m > 0:
            buf[o + HSZ : o + HSZ + m] = dv[p : p + m]
        crc = binascii.crc32(mv[o + HSZ : o + rs], binascii.crc32(mv[o : o + 12]))
        struct.pack_into("<I", buf, o + 12, crc & 0xFFFFFFFF)
    return buf


def check_record(b, mv, pay):
    # Header tuple of the record in b (mv: a memoryview of it), or None when it is torn or
    # corrupt.
    h = struct.unpack_from(HDR, b, 0)
    if h[0] != MAGIC or h[1] >= h[2]:
        return None
    crc = binascii.crc32(mv[HSZ:], binascii.crc32(mv[0:12])) & 0xFFFFFFFF
    if crc != struct.unpack_from("<I", b, 12)[0]:
        return None
    if h[2] != ((h[4] + pay - 1) // pay or 1):
        return None
    return h


def read_cursor(open_, path):
    # The acked seq of one cursor slot, or None when it is missing or torn.
    try:
        f = open_(path, "rb")
        try:
            b = f.read(16)
        finally:
            f.close()
    except OSError:
        return None
    if len(b) != 10:
        return None
    m, acked, crc = struct.unpack("<HII", b)
    if m != CMAGIC or crc != binascii.crc32(b[0:6]) & 0xFFFFFFFF:
        return None
    return acked


def write_cursor(open_, path, acked):
    b = bytearray(10)
    struct.pack_into("<HI", b, 0, CMAGIC, acked)
    struct.pack_into("<I", b, 6, binascii.crc32(b[0:6]) & 0xFFFFFFFF)
    f = open_(path, "wb")
    try:
        f.write(b)
        f.flush()
    finally:
        f.close()
