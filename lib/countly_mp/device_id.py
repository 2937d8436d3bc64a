# device_id.py - which device ID the SDK uses and where it came from: ly.device_id (changing it
# loads admin.py, which holds the steps of a change).
#
# The ID, its type and a pending merge live in one small checked file (Store.write_checked):
# written whole by rename (a cut leaves the old or the new file), with a length and a CRC (a
# flipped bit is an unreadable file, reported, never a different valid ID). A change with merge
# is one durable step: the file first names the new ID AND the old one still to be merged; the
# merge request is queued; then the mark is cleared. A restart between those steps queues the
# merge request again unless the newest queued request already is it.


TEMP_ID = "CLYTemporaryDeviceID"  # the tag every Countly SDK uses while in temporary ID mode


class DeviceIdType:
    SDK_GENERATED = "SDK_GENERATED"
    DEVELOPER_SUPPLIED = "DEVELOPER_SUPPLIED"
    TEMPORARY_ID = "TEMPORARY_ID"


def save(store, value, kind, merge_from=None):
    store.write_checked("device_id", ("%s\n%s\n%s" % (kind, value, merge_from or "")).encode())


class DeviceId:
    def __init__(self, core):
        self._core = core

    def get(self):
        return self._core.current_id if self._core.ready else None

    def type(self):
        return self._core.device_id_type if self._core.ready else None

    def change(self, new_id, merge=False):
        try:
            from .admin import change

            return change(self._core, new_id, merge)
        except Exception as e:
            self._core.internal_error("DeviceId", "change", e)
            return False

    def enable_temporary(self):
        try:
            from .admin import enable_temporary

            return enable_temporary(self._core)
        except Exception as e:
            self._core.internal_error("DeviceId", "enable_temporary", e)
            return False
