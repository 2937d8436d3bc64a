# device_id.py - which device ID the SDK uses, where it came from, and changing it.
# The ID and its type live in one small file written by rename, so a cut never leaves half an ID.

from .compat import const

_M = "DeviceId"
TEMP_ID = "CLYTemporaryDeviceID"  # the tag every Countly SDK uses while in temporary ID mode
_VERSION = const(1)


class DeviceIdType:
    SDK_GENERATED = "SDK_GENERATED"
    DEVELOPER_SUPPLIED = "DEVELOPER_SUPPLIED"
    TEMPORARY_ID = "TEMPORARY_ID"


def initial(config, stored, generate):
    # The guide's init truth table. stored: (id, type) or None. -> (id, type)
    dev = config.device_id
    if config.clear_stored_device_id:
        stored = None
    if stored is not None and stored[1] != DeviceIdType.TEMPORARY_ID:
        return stored
    if dev is not None:
        return dev, DeviceIdType.DEVELOPER_SUPPLIED  # also ends a stored temporary mode
    if config.temporary_device_id or stored is not None:
        return TEMP_ID, DeviceIdType.TEMPORARY_ID  # enters, or stays in, temporary mode
    return generate(), DeviceIdType.SDK_GENERATED


def load(store):
    raw = store.read("device_id")
    if not raw:
        return None
    try:
        parts = raw.decode().split("\n", 2)
        if len(parts) == 3 and parts[0] == str(_VERSION) and parts[2]:
            return parts[2], parts[1]
    except Exception:
        pass
    return None  # unreadable: treated as a first start


def save(store, value, kind):
    store.write("device_id", ("%d\n%s\n%s" % (_VERSION, kind, value)).encode())


class DeviceId:
    def __init__(self, core):
        self._core = core

    def get(self):
        try:
            return self._core.device_id_value()
        except Exception as e:
            self._core.internal_error(_M, "get", e)
            return None

    def type(self):
        try:
            return self._core.device_id_type
        except Exception as e:
            self._core.internal_error(_M, "type", e)
            return None

    def change(self, new_id, merge=False):
        core = self._core
        try:
            core.log.i(_M, "change", "merge=%s" % bool(merge))
            if not isinstance(new_id, str) or not new_id.strip():
                core.log.w(_M, "change", "invalid device ID, ignored")
                return False
            if new_id == core.device_id_value():
                core.log.w(_M, "change", "same device ID, ignored")
                return False
            if new_id == TEMP_ID:
                return self.enable_temporary()
            if core.device_id_type == DeviceIdType.TEMPORARY_ID:
                # Leaving temporary mode: held requests are re-stamped with this ID when sent.
                core.set_device_id(new_id, DeviceIdType.DEVELOPER_SUPPLIED)
                return True
            if merge:
                old = core.device_id_value()
                core.flush_events()  # what was recorded so far belongs to the old ID
                core.user_save()
                core.set_device_id(new_id, DeviceIdType.DEVELOPER_SUPPLIED)
                core.enqueue([("old_device_id", old)])
                return True
            was_active = core.end_for_change()
            core.set_device_id(new_id, DeviceIdType.DEVELOPER_SUPPLIED)
            core.begin_after_change(was_active)
            return True
        except Exception as e:
            core.internal_error(_M, "change", e)
            return False

    def enable_temporary(self):
        core = self._core
        try:
            core.log.i(_M, "enable_temporary")
            if core.device_id_type == DeviceIdType.TEMPORARY_ID:
                return True
            was_active = core.end_for_change()
            core.set_device_id(TEMP_ID, DeviceIdType.TEMPORARY_ID)
            core.begin_after_change(was_active)
            return True
        except Exception as e:
            core.internal_error(_M, "enable_temporary", e)
            return False
