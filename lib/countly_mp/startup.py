# startup.py - what Countly() does once: port, storage, queues, device ID, recovery of the
# open event batch, then the init-time requests. countly.py loads this module for init and drops
# it after, so a board's heap does not keep start-up code for the rest of its run.

# The code only start-up runs, loaded here in one go (countly.py drops it after): device_id
# (the init truth table), fsopen (opening the queues), sessionops (beginning or resuming the
# session).
from . import device_id as dmod
from . import fsopen, sessionops  # noqa: F401
from .batcher import Batcher, event_size
from .clock import Clock
from .compat import MICROPYTHON
from .log import ERROR, WARNING
from .request import FLAGS_MAX, REQUEST_MAX, RequestBuilder, flag_value, split_record
from .sender import Sender
from .store import Store

_M = "Countly"


def start(core, platform):
    cfg = core.config
    core.jobs = []  # one-shot exchanges tick() makes when the queue is idle (jobs.py)
    core.platform = platform
    core.log.sink = getattr(platform, "log_sink", None)
    core.server_url = cfg.url
    core.sdk_name = ("micropython" if MICROPYTHON else "python") + "-native-" + platform.name
    fs = getattr(platform, "fs", None)
    core.store = Store(cfg.storage_path or platform.storage_root(), cfg.app_key, fs)
    core.clock = Clock(platform, core.store)
    size = REQUEST_MAX + FLAGS_MAX
    core.request_queue = _queue(core, "rq", cfg.request_queue_size, size, fs)
    core.event_queue = _queue(core, "eq", cfg.request_queue_size * cfg.event_queue_threshold,
                              size, fs)
    _server_config(core)
    core.builder = RequestBuilder(core)
    core.sender = Sender(core)
    t = core.sender.open()
    if getattr(t, "insecure", False):
        core.log.notice("tls", WARNING, _M, "init",
                        "TLS certificate NOT verified: give Config(ca_data=...) to verify")
    core._consents = {}
    for f in cfg.consents:
        core._consents[f] = True
    stored = _load_id(core.store, core.log)
    pending_merge = stored[2] if stored is not None else None
    stored = stored[:2] if stored is not None else None
    core.current_id, core.device_id_type = _initial(
        cfg, stored, platform.generate_device_id)
    if stored != (core.current_id, core.device_id_type):
        dmod.save(core.store, core.current_id, core.device_id_type)
        pending_merge = None
    core._merge_from = pending_merge
    core._init_ticks = core.clock.ticks()
    core.batcher = Batcher(core)
    core.log.i(_M, "init", "sdk=%s, device_id_type=%s", core.sdk_name,
                                                          core.device_id_type)
    if core.log.console or core.log.listener is not None:
        from .initlog import options  # the options at Debug, only for someone to see

        options(core)


def _server_config(core):
    # The server configuration stored by an earlier run applies before anything uses the
    # options (server value > app value > default); this run fetches a fresh one (jobs.py).
    # A failure here (out of memory, above all) leaves the app's values in force; it never
    # makes the SDK inert.
    try:
        raw = core.store.read("sc") if core.config.server_config else None
        if raw:
            from . import serverconfig

            serverconfig.stored(core, raw)
    except Exception as e:
        core.internal_error("ServerConfig", "load", e)


def requests(core):
    # Init-time requests of features set up in Config; each module loads only when used, and
    # each is guarded on its own: one failing never makes the SDK inert or stops the others.
    cfg = core.config
    # The open event batch of the last run (closed again as needed: that queues requests, so
    # it happens once the SDK counts as ready).
    core.safely("init events", lambda: _recover(core.batcher, core))
    if core._merge_from:
        # A cut interrupted a change with merge: its merge request is queued now (once).
        from .admin import finish_merge

        core.safely("init merge", lambda: finish_merge(core))
    if cfg.require_consent and cfg.consents:
        core.safely("init consent", core.consent.at_init)  # groups expanded, full state
    if (cfg.disable_location or cfg.location_country_code or cfg.location_city
            or cfg.location_gps is not None or cfg.location_ip):
        core.safely("init location", core.location.at_init)
    if not cfg.manual_sessions:
        core.safely("init session", lambda: _auto_session(core))
    if cfg.direct_attribution is not None or cfg.indirect_attribution is not None:
        core.safely("init attribution", core.attribution.at_init)
    if cfg.apm_app_start:
        core.safely("init apm", core.apm.app_start)
    # Sent when the queue is first idle, never blocking init (a board may boot offline).
    if cfg.server_config:
        core.jobs.append("sc")
    core.jobs.append("hc")
    if cfg.rc_automatic_triggers:
        core.jobs.append("rc")


def _auto_session(core):
    if not core.sessions.resume():
        core.sessions.begin_now()


def _queue(core, name, capacity, max_item, fs):
    make = getattr(core.platform, "make_queue", None)
    q = make(name, capacity, max_item, core.store) if make is not None else None
    if q is None:
        from .fsqueue import FsQueue

        q = FsQueue(core.store.path(name), capacity=capacity, fs=fs, max_item=max_item,
                    reserve=core.store.reserve)
    return q


def _initial(config, stored, generate):
    # The guide's init truth table. stored: (id, type) or None. -> (id, type)
    dev = config.device_id
    if config.clear_stored_device_id:
        stored = None
    if stored is not None and stored[1] != dmod.DeviceIdType.TEMPORARY_ID:
        return stored
    if dev is not None:
        return dev, dmod.DeviceIdType.DEVELOPER_SUPPLIED  # also ends a stored temporary mode
    if config.temporary_device_id or stored is not None:
        return dmod.TEMP_ID, dmod.DeviceIdType.TEMPORARY_ID  # enters, or stays in, temp mode
    return generate(), dmod.DeviceIdType.SDK_GENERATED


def _load_id(store, log=None):
    # -> (id, type, old id still to merge or None), or None on a first start or when the file
    # is damaged (reported once: the SDK then starts as if for the first time).
    before = store.corrupt
    raw = store.read_checked("device_id")
    try:
        parts = raw.decode().split("\n")
        if len(parts) == 3 and parts[1]:
            return parts[1], parts[0], parts[2] or None
    except Exception:
        pass
    if raw is not None or store.corrupt != before:
        log.notice("device_id", ERROR, "DeviceId", "load",
                   "stored device ID is damaged: starting with a new one")
    return None


def _recover(b, core):
    # Events after the claimed seq (the newest request tells) are the open batch, closed again
    # as the threshold and the budget say.
    last = core.request_queue.peek_last()
    b.claimed = claimed_of(last[1]) if last is not None else 0
    b.since = core.clock.ticks()
    # Delivered events the last run had not acked yet (sender.py acks the event queue lazily)
    # go first: they are never batched or sent again. If that ack fails, the open batch is
    # rebuilt all the same (a delivered event may go again; a waiting one is never lost).
    try:
        core.sync_events()
    except OSError as e:
        core.internal_error("Countly", "init events", e)
    for seq, data in core.event_queue.items(b.claimed):
        b.note(seq, event_size(data))


def claimed_of(record):
    # The event-queue seq this record says was claimed when it was made (0 when none).
    v = flag_value(split_record(record)[0], "C")
    try:
        return int(v) if v else 0
    except ValueError:
        return 0
