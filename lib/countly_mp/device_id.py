# device_id.py - which device ID the SDK uses and where it came from (the public DeviceId calls,
# changing it included, are in admin.py: loaded only when an app uses them).
#
# The ID, its type and a pending merge live in one small file, written whole by rename (a cut
# leaves the old or the new file) and checked by a CRC (a flipped bit is an unreadable file,
# reported, never a different valid ID). A change with merge is one durable step: the file
# first names the new ID AND the old one still to be merged; the merge request is queued; then
# the mark is cleared. A restart between those steps queues the merge request again unless the
# newest queued request already is it.

from .compat import const, crc32

TEMP_ID = "CLYTemporaryDeviceID"  # the tag every Countly SDK uses while in temporary ID mode
VERSION = const(2)  # of the file format


class DeviceIdType:
    SDK_GENERATED = "SDK_GENERATED"
    DEVELOPER_SUPPLIED = "DEVELOPER_SUPPLIED"
    TEMPORARY_ID = "TEMPORARY_ID"


def save(store, value, kind, merge_from=None):
    body = "%s\n%s\n%s" % (kind, value, merge_from or "")
    store.write("device_id", ("%d %08x\n%s" % (VERSION, crc32(body.encode()) & 0xFFFFFFFF,
                                                body)).encode())
