# serverconfig.py - the SDK settings a server sends (`/o/sdk?method=sc`, the guide's "SDK
# Server Configuration"), applied over the app's Config: SDK default < app value < server
# value. A key the server does not send leaves the app's value (or the default) in force.
#
# The copy an earlier run stored applies at init, before anything uses the options
# (startup.py); each start fetches a fresh copy when the queue is first idle (jobs.py), and
# this module stores it (a CRC'd file replaced whole) and applies it at once. It is loaded
# for that and dropped again: what stays is a few attributes of the Countly object and, only
# when the server sends filters, filters.py.

from .compat import const, crc32, drop_module, dumps, is_int, is_number, loads
from .log import ERROR, WARNING

_M = "ServerConfig"
_FILE = "sc"
_MAX_EVERY_H = const(144)  # scui is measured in ticks, which a board keeps for ~6 days

# key:kind, one string (a dict of tuples costs more heap). Kinds: b bool, p int > 0, z int
# >= 0, f number between 0 and 1, l list of strings, o object of lists of strings, w filter
# preset. Keys without a meaning on a board (content zones, the user property cache) are
# checked and then ignored.
_KINDS = (" tracking:b networking:b st:b crt:b vt:b cet:b lt:b cr:b log:b rqs:p eqs:p sui:p"
          " scui:p dort:z lkl:p lvs:p lsv:p lbc:p ltlpt:p ltl:p bom:b bom_at:p bom_rqp:f"
          " bom_ra:p bom_d:p filter_preset:w eb:l upb:l sb:l esb:o ecz:b rcz:b czi:p upcl:p ")
# key=Config option the value replaces
_OPTIONS = (" cr=require_consent log=logging rqs=request_queue_size eqs=event_queue_threshold"
            " sui=session_update_interval lkl=max_key_length lvs=max_value_size"
            " lsv=max_segmentation_values lbc=max_breadcrumb_count"
            " ltlpt=max_stack_trace_lines_per_thread ltl=max_stack_trace_line_length ")
# key=feature it switches off, as if the feature's consent were missing
_SWITCHES = " st=sessions crt=crashes vt=views cet=events lt=location "


def _find(table, key, sep):
    i = table.find(" " + key + sep)
    if i < 0:
        return None
    i += len(key) + 2
    return table[i:table.index(" ", i)]


def _valid(kind, v):
    if kind == "b":
        return v is True or v is False
    if kind in "pz":
        return is_int(v) and (v > 0 if kind == "p" else v >= 0)
    if kind == "f":
        return is_number(v) and 0 < v < 1
    if kind == "w":
        return v in ("Blacklisting", "Whitelisting")
    if kind == "l":
        return isinstance(v, list) and all(isinstance(x, str) for x in v)
    return isinstance(v, dict) and all(_valid("l", v[k]) for k in v)


def stored(core, raw):
    # At init: the copy an earlier run stored, or nothing when it is damaged (said once).
    try:
        head, body = raw.split(b"\n", 1)
        if int(head.decode(), 16) != crc32(body) & 0xFFFFFFFF:
            raise ValueError("crc")
        c = loads(body)["c"]
    except MemoryError:
        raise  # not damage: the file stays for a later read
    except Exception:
        core.store.remove(_FILE)
        core.log.notice("sc-damaged", ERROR, _M, "load", "stored server configuration is "
                        "damaged: app values in force until a fresh one arrives")
        return
    apply(core, c, True)


def fetched(core, got):
    # A fresh configuration from the server (jobs.py fetched it): stored, then in force.
    body = dumps({"v": got["v"], "t": got["t"], "c": got["c"]}).encode()
    core.store.write(_FILE, b"%08x\n" % (crc32(body) & 0xFFFFFFFF) + body)
    apply(core, got["c"], False)


def apply(core, c, at_init):
    cfg = core.config
    log = core.log
    _restore(core)
    valid = {}
    for key in sorted(c):
        kind = _find(_KINDS, key, ":")
        if kind is None:
            log.d(_M, "apply", "unknown key [%s] ignored", key)
        elif not _valid(kind, c[key]):
            log.w(_M, "apply", "invalid value for [%s] ignored", key)
        else:
            valid[key] = c[key]
    app = {}
    for key in valid:
        option = _find(_OPTIONS, key, "=")
        if option is not None:
            # (app value,) or () when the app left the default: this module is dropped
            # between runs of apply(), so no sentinel object would survive
            app[option] = (cfg.__dict__[option],) if option in cfg.__dict__ else ()
            setattr(cfg, option, valid[key])
    core._sc_app = app  # what the app had, put back when the server stops sending a key
    log.console = cfg.logging
    _queue_size(core)
    core.networking = valid.get("networking", True)
    _switches(core, valid, at_init)
    core.drop_age_ms = valid.get("dort", 0) * 3600000
    at = valid.get("bom_at", 10) * 1000 if valid.get("bom", True) else 1 << 30
    core.bom = (at, int(valid.get("bom_rqp", 0.5) * 1000), valid.get("bom_ra", 24) * 3600000,
                valid.get("bom_d", 60))
    every = min(valid.get("scui", 0), _MAX_EVERY_H) * 3600000
    core._sc_every = every
    if every and not at_init:
        from .jobs import schedule

        schedule(core)
    if any(valid.get(k) for k in ("eb", "upb", "sb", "esb")) or core.__dict__.get("filters"):
        from .filters import install

        install(core, valid)
    log.d(_M, "apply", "server values in force: %s", " ".join(sorted(valid)))


def _restore(core):
    # The previous server values give way to the app's (or the defaults) before new ones apply.
    cfg = core.config
    app = core.__dict__.get("_sc_app") or {}
    for option in app:
        if app[option]:
            setattr(cfg, option, app[option][0])
        else:
            delattr(cfg, option)


def _queue_size(core):
    # rqs lowers the request queue's capacity; it raises it only as far as the queue says its
    # storage holds (max_capacity), else no higher than the size it was built with.
    rq = core.request_queue
    built = core.__dict__.get("_rq_built")
    if built is None:
        built = core._rq_built = rq.capacity
    limit = max(getattr(rq, "max_capacity", 0) or 0, built)
    size = core.config.request_queue_size
    if size > limit:
        core.log.w(_M, "apply", "rqs %d is more than the storage holds: %d kept", size, limit)
        size = limit
    rq.capacity = size


def _switches(core, valid, at_init):
    # Features the server switches off behave as if their consent were missing: what they hold
    # is closed first (an open session ends, the open view ends), as when consent goes. The
    # consent module does that; it is loaded for it and dropped again unless the app uses it.
    off = []
    if valid.get("tracking", True) is False:  # nothing new is recorded: every feature is off
        from .consent import Consent

        off = list(Consent.ALL)
    for key in ("st", "crt", "vt", "cet", "lt"):
        f = _find(_SWITCHES, key, "=")
        if valid.get(key, True) is False and f not in off:
            off.append(f)
    was = core.server_off
    going = [f for f in off if f not in was and core.consent_has(f)]
    back = [f for f in was if f not in off]
    if (going or back) and not at_init:
        loaded = core.__dict__.get("consent")
        api = loaded
        if api is None:
            from .consent import ConsentApi

            api = ConsentApi(core)
        for f in going:
            api._stopping(f)
        core.server_off = tuple(off)
        if back:
            core.log.i(_M, "apply", "switched back on: %s", " ".join(back))
            api._starting(back)
        if loaded is None:
            api = None
            drop_module("consent")
    core.server_off = tuple(off)
    if off:
        core.log.notice("sc-off", WARNING, _M, "apply", "switched off by the server: %s",
                        " ".join(off))
