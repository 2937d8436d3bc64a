# fsformat.py - the bytes fsqueue.py and store.py put on storage, and which errors mean "full".
#
# Record (one queue item), 16 bytes more than its payload:
#   "<HBBII" magic C5 51, kind 1, 0, seq, payload length n | payload | crc32 u32 of header and
#   payload. Variable length: a 150-byte event costs 166 bytes. The magic bytes start no ASCII
#   text, which lets a reader find the next record after damage.
# Stamp, 20 bytes: "<4sIIII" tag, a, b, c, crc32 of the first 16 bytes. Used as
#   segment header (first bytes of every segment file): b"CQS2", first seq, the acked seq when
#     the segment was created (evidence of progress if both cursor slots are lost), the seq of
#     the newest item before it (a segment gone missing in between shows as a gap);
#   cursor slot: b"CQC2", acked seq, the newest item's seq when written, 0. Small enough for
#     LittleFS to keep inside its directory entry: no data block, no erase of its own;
#   checked small file: b"CKF1", length, crc32 of the data, 0 | data.
# binascii.crc32 is unsigned on both runtimes.
# Sizes used by the readers and writers: record header 12, record overhead 16, stamp 20.

import binascii
import struct


def is_nospc(exc):
    # "No space" as each runtime says it: ENOSPC 28; 36, LittleFS's NAMETOOLONG, which
    # lfs_file_open returns when a new name's directory entry does not fit a full directory
    # block and no free block is left to split it into (our names are short, so it never
    # means a long name); EDQUOT 122.
    return isinstance(exc, OSError) and bool(exc.args) and exc.args[0] in (28, 36, 122)


def as_nospc(exc):
    # The error to raise: OSError(ENOSPC) for every flavour of "full", the original otherwise.
    return OSError(28) if is_nospc(exc) else exc


def pack_rec(buf, seq, n):
    struct.pack_into("<HBBII", buf, 0, 0x51C5, 1, 0, seq, n)


def unpack_rec(buf):
    # (seq, n) of a record header, or None when it cannot be one.
    m, kind, zero, seq, n = struct.unpack_from("<HBBII", buf, 0)
    return (seq, n) if m == 0x51C5 and kind == 1 and zero == 0 else None


def stamp(m, a, b, c=0):
    s = bytearray(20)
    struct.pack_into("<4sIIII", s, 0, m, a, b, c, 0)
    struct.pack_into("<I", s, 16, binascii.crc32(memoryview(s)[0:16]))
    return s


def unstamp(m, data):
    # (a, b, c) of a stamp with magic m, or None when missing, short, of another kind or
    # damaged.
    if data is None or len(data) < 20:
        return None
    t, a, b, c, k = struct.unpack_from("<4sIIII", data, 0)
    return (a, b, c) if t == m and k == binascii.crc32(memoryview(data)[0:16]) else None


def checked(data):
    return stamp(b"CKF1", len(data), binascii.crc32(data)) + data


def parse_checked(data):
    # The data of a checked file, or None when it is damaged.
    h = unstamp(b"CKF1", data)
    data = bytes(memoryview(data)[20:])
    return data if h is not None and h == (len(data), binascii.crc32(data), 0) else None
