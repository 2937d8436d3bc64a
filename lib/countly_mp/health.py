# health.py - the SDK's health counters (the guide's "SDK Health Checks"): error and warning
# log lines, the status and the first 1000 characters of the last failed request, and the
# backoffs taken (pacing.py). They persist at the session's save points (update, end) and at
# stop(), go to the server once per start as an `hc` request (jobs.py), and are cleared when
# the server took them. They cannot be turned off.
#
# Counting costs nothing here: the logger counts its lines anyway (status() reports them), the
# sender keeps the last failed answer. This module only adds what earlier runs stored.

from .compat import crc32, dumps, loads
from .log import ERROR
from .wire import encoded_len

_FILE = "hc"
_M = "Health"
_EM_ENCODED = 2048  # bytes of the encoded `em`: the hc request stays small


def _state(core):
    # [el, wl, sc, em, bom] of earlier runs, less what was sent in this one, and the key of
    # what was saved last; loaded once.
    st = core.__dict__.get("_hc")
    if st is None:
        st = [0, 0, -1, "", 0, None]
        raw = core.store.read(_FILE)
        if raw:
            try:
                head, body = raw.split(b"\n", 1)
                if int(head.decode(), 16) != crc32(body) & 0xFFFFFFFF:
                    raise ValueError("crc")
                d = loads(body)
                st = [int(d["el"]), int(d["wl"]), int(d["sc"]), str(d["em"]),
                      int(d.get("bom", 0)), None]
            except MemoryError:
                raise  # not damage: the file stays for a later read
            except Exception:
                core.store.remove(_FILE)
                core.log.notice("hc-damaged", ERROR, _M, "load",
                                "stored health counters are damaged: starting from zero")
        core._hc = st
    return st


def snapshot(core):
    # -> the `hc` object: {"el", "wl", "sc", "em", "bom"}; sc -1 and em "" when no request
    # failed since the last report.
    st = _state(core)
    sc, em = st[2], st[3]
    failed = core.sender.failed
    if failed is not None:
        sc, em = failed[0], text(failed[1])
    while encoded_len(dumps(em)) > _EM_ENCODED:
        em = em[: len(em) * 3 // 4]  # 1000 characters of non-ASCII would not fit a request
    return {"el": st[0] + core.log.errors, "wl": st[1] + core.log.warnings, "sc": sc, "em": em,
            "bom": st[4] + core.__dict__.get("boms", 0)}


def empty(hc):
    return not (hc["el"] or hc["wl"] or hc["bom"]) and hc["sc"] == -1


def save(core):
    # Written only when something changed since the last save: a flash write per session
    # update would wear the flash for nothing.
    hc = snapshot(core)
    key = (hc["el"], hc["wl"], hc["sc"], hash(hc["em"]), hc["bom"])
    st = _state(core)
    if key == st[5]:
        return
    if empty(hc):
        core.store.remove(_FILE)
    else:
        body = dumps(hc).encode()
        core.store.write(_FILE, b"%08x\n" % (crc32(body) & 0xFFFFFFFF) + body)
    st[5] = key


def clear(core):
    # The server took the counters: they start again from zero.
    st = _state(core)
    st[0], st[1], st[2], st[3] = -core.log.errors, -core.log.warnings, -1, ""
    st[4] = -core.__dict__.get("boms", 0)
    core.sender.failed = None
    st[5] = None
    save(core)
    core._hc_mark = (core.log.errors, core.log.warnings, None)


def text(data):
    # Answer bytes as text: a character cut at the end is dropped; bytes that are not UTF-8
    # at all keep only their ASCII.
    for cut in range(4):
        try:
            return bytes(data[: len(data) - cut]).decode()
        except Exception:
            pass
    return bytes(b for b in data if b < 128).decode()
