# admin.py - the Countly object's cold paths, loaded only when one is used: a server URL change
# and a device ID change with its steps. Keeping them out of countly.py keeps the
# bytecode a board holds for every app small.

from . import device_id as dmod
from .config import MAX_ID, Config, text_ok
from .log import ERROR
from .request import split_record
from .sessions import save_health
from .wire import quote

_M = "Countly"
_D = "DeviceId"


def set_server_url(core, url):
    try:
        core.log.i(_M, "set_server_url")
        Config(url, core.config.app_key)  # the same validation as at init
        while url.endswith("/"):
            url = url[:-1]
        core.server_url = url
        if core.ready:
            core.sender.server_changed()
        return True
    except Exception as e:
        core.log.w(_M, "set_server_url", "invalid url ignored: %s", e)
        return False


def finish_merge(core):
    # Queues the merge request of a change with merge, unless the newest request already is
    # it (a cut after queueing it), then clears the mark (device_id.py).
    old = core._merge_from
    last = core.request_queue.peek_last()
    tail = b"&old_device_id=" + quote(old).encode()
    if last is None or not bytes(split_record(last[1])[1]).endswith(tail):
        if not core.enqueue([("old_device_id", old)]):
            return False  # the mark stays: the next start queues it
    set_device_id(core, core.current_id, core.device_id_type)
    return True


def end_for_change(core):
    # Device ID change without merge: events and the session close under the old ID.
    # Returns whether a session was running, for begin_after_change.
    core.batcher.close()
    core.user_save()
    was_active = core.sessions.active
    if was_active:
        core.sessions.end_now()
    events = core.__dict__.get("events")
    if events is not None:  # only a loaded events feature can have timed events running
        events.clear_timed()
    return was_active


def begin_after_change(core, was_active):
    if was_active and not core.config.manual_sessions:
        core.sessions.begin_now()


def change(core, new_id, merge=False):
    try:
        core.log.i(_D, "change", "merge=%s", bool(merge))
        if not core.accepting(_D, "change"):
            return False
        if not text_ok(new_id):
            core.log.notice("bad-id", ERROR, _D, "change",
                            "device ID must be a non-empty string of at most %d characters,"
                            " ignored", MAX_ID)
            return False
        if new_id == core.current_id:
            core.log.w(_D, "change", "same device ID, ignored")
            return False
        if new_id == dmod.TEMP_ID:
            return enable_temporary(core)
        if core.device_id_type == dmod.DeviceIdType.TEMPORARY_ID:
            # Leaving temporary mode: held requests are re-stamped with this ID when sent.
            set_device_id(core, new_id, dmod.DeviceIdType.DEVELOPER_SUPPLIED)
            _rc(core, "real")
            return True
        if merge:
            old = core.current_id
            core.batcher.close()  # what was recorded so far belongs to the old ID
            core.user_save()
            set_device_id(core, new_id, dmod.DeviceIdType.DEVELOPER_SUPPLIED, old)
            finish_merge(core)
            return True
        was_active = end_for_change(core)
        set_device_id(core, new_id, dmod.DeviceIdType.DEVELOPER_SUPPLIED)
        begin_after_change(core, was_active)
        _rc(core, "id")
        return True
    except Exception as e:
        core.internal_error(_D, "change", e)
        return False


def enable_temporary(core):
    try:
        core.log.i(_D, "enable_temporary")
        if not core.accepting(_D, "enable_temporary"):
            return False
        if core.device_id_type == dmod.DeviceIdType.TEMPORARY_ID:
            return True
        was_active = end_for_change(core)
        set_device_id(core, dmod.TEMP_ID, dmod.DeviceIdType.TEMPORARY_ID)
        begin_after_change(core, was_active)
        _rc(core, "temp")
        return True
    except Exception as e:
        core.internal_error(_D, "enable_temporary", e)
        return False


def set_device_id(core, value, kind, merge_from=None):
    dmod.save(core.store, value, kind, merge_from)
    core.current_id = value
    core.device_id_type = kind
    core._merge_from = merge_from


def stop(core):
    # End of the app's use of the SDK: the automatic session ends, the open view and the event
    # batch close, user properties are saved, the connection closes. The queues stay readable:
    # flush() after stop() still delivers what is left.
    if core._stopped:
        return None
    if not core.ready:
        core._stopped = True  # an inert SDK has nothing to end, but run() must return
        return None
    core.log.i(_M, "stop")
    if not core.config.manual_sessions:
        core.safely("stop session", core.sessions.end_now)
    views = core.__dict__.get("views")
    if views is not None:
        core.safely("stop view", views.session_end)
    core.safely("stop events", core.batcher.close)
    core.safely("stop user", core.user_save)
    core.safely("stop health", lambda: save_health(core))
    core._stopped = True
    core.sender.close()


def _rc(core, event):
    # Remote config values follow the device ID (rctrigger.py).
    try:
        from .rctrigger import follow

        follow(core, event)
    except Exception as e:
        core.internal_error(_D, "remote config", e)
