# rules.py - the Countly server's rules as pure functions: answers, checksum, dedup, events,
# crashes and user-profile operators. No I/O here, so each rule is easy to test on its own.

import hashlib
import re

from .jsvalues import js_is_number, js_len, js_parse_float, js_parse_int, js_str, js_truthy

# Answers, byte for byte as the server words them.
MSG_MISSING_KEY = 'Missing parameter "app_key" or "device_id"'
MSG_NO_APP = "App does not exist"
MSG_PAUSED = "App is currently not accepting data"
MSG_NO_CHECKSUM = "Request does not have checksum"
MSG_BAD_CHECKSUM = "Request does not match checksum"
MSG_DUPLICATE = "Request ignored: Duplicate request"
MSG_IGNORING = "Ignoring device_id"
MSG_INVALID_PATH = "Invalid path"
MSG_INVALID_METHOD = "Invalid method"

ZERO_IDFA = "00000000-0000-0000-0000-000000000000"
# api.session_cooldown and api.session_duration_limit defaults of current servers.
SESSION_COOLDOWN_MS = 15 * 1000
SESSION_DURATION_LIMIT = 86400

# [CLY]_ keys registered by plugins; any other [CLY]_ key is dropped by the server. A Community
# Edition server has no surveys plugin, so it drops [CLY]_nps and [CLY]_survey too.
INTERNAL_EVENTS = frozenset(
    ("[CLY]_view", "[CLY]_action", "[CLY]_star_rating", "[CLY]_nps", "[CLY]_survey",
     "[CLY]_push_action"))
INTERNAL_EVENTS_LITE = INTERNAL_EVENTS - {"[CLY]_nps", "[CLY]_survey"}
FEEDBACK_EVENTS = {"[CLY]_nps": "nps", "[CLY]_survey": "survey", "[CLY]_star_rating": "rating"}

# Aggregation limits of the server's default plugin configuration.
EVENT_KEY_MAX = 128         # fixEventKey: a key this long or longer is dropped
EVENT_LIMIT = 500           # distinct event keys per app
SEGMENT_KEY_LIMIT = 100     # distinct segmentation keys per event key
SEGMENT_VALUE_LIMIT = 1000  # distinct values per segmentation key
ARRAY_LIST_LIMIT = 10       # array segmentation values are cut to this many items
# Segment values "1".."31" would clash with day-of-month fields in the aggregated documents.
_FORBIDDEN_VALUES = frozenset(str(n) for n in range(1, 32))

# Crash device state is in MB; a value this large looks like KB or bytes sent by mistake.
RAM_MAX_MB = 100000
DISK_MAX_MB = 100000000

# Regexes the server uses to take volatile params out of the dedup payload.
_DEDUP_STRIP = [(n + "=", re.compile(r"[?&]?(%s=[^&\n]+)" % n))
                for n in ("rr", "checksum", "checksum256")]
_EVENT_KEY_STRIP = re.compile(r"system\.|\.\.|\$")
_SEG_KEY_STRIP = re.compile(r"^\$+|\.")
USER_FIELDS = ("name", "username", "email", "organization", "phone", "picture", "gender", "byear")


def checksum_ok(params, payloads, salt):
    # checksumSaltVerification: None when the request passes, else the answer message.
    # sha1 `checksum` wins over `checksum256`; the first "&name=value" then "name=value" is cut
    # from each candidate payload; any candidate matching (hex case ignored) passes.
    if "checksum" in params:
        name, algo = "checksum", hashlib.sha1
    elif "checksum256" in params:
        name, algo = "checksum256", hashlib.sha256
    else:
        return MSG_NO_CHECKSUM
    sent = js_str(params[name])
    candidates = []
    for p in payloads:
        p = p.replace("&%s=%s" % (name, sent), "", 1).replace("%s=%s" % (name, sent), "", 1)
        candidates.append(algo((p + salt).encode("utf-8")).hexdigest().upper())
    return None if sent.upper() in candidates else MSG_BAD_CHECKSUM


def dedup_hash(payload, params, now_ms):
    # sha1 of the payload with rr/checksum/checksum256 stripped, plus the timestamp param.
    for key, rx in _DEDUP_STRIP:
        if key in payload:  # the regex scan is slow on a 1 MiB body; skip it when it can't hit
            payload = rx.sub("", payload)
    ts = params.get("timestamp")
    suffix = js_str(ts) if js_truthy(ts) else str(now_ms)
    return hashlib.sha1(payload.encode("utf-8")).hexdigest() + suffix


# -- events -----------------------------------------------------------------------------------

def fix_event_key(key):
    # common.fixEventKey: "system.", ".." and "$" removed; None when 128+ characters remain.
    short = _EVENT_KEY_STRIP.sub("", key)
    return None if js_len(short) >= EVENT_KEY_MAX else short


def event_numbers(e):
    # -> (count, sum, dur) of one event: a count that is missing, 0 or not a number counts 1
    # (the server overwrites it so); sum (rounded to 5 decimals) and dur are kept when they
    # are numbers. Aggregation then skips a sum or dur of 0, as the server does.
    c, s, d = e.get("count"), e.get("sum"), e.get("dur")
    count = js_parse_int(c) if js_truthy(c) and js_is_number(c) else 1
    total = round(js_parse_float(s), 5) if js_is_number(s) else None
    dur = js_parse_float(d) if js_is_number(d) else None
    return count, total, dur


def rewrite_segmentation(seg):
    # -> (segmentation as the server keeps it, warnings). Keys with "." or a leading "$" are
    # rewritten (MongoDB field names), arrays are cut to ARRAY_LIST_LIMIT items.
    out, warnings = dict(seg), []
    for k in list(seg):
        if "." in k or k.startswith("$"):
            new = _SEG_KEY_STRIP.sub("", k)
            out[new] = out.pop(k)
            warnings.append("segment key %r rewritten to %r" % (k, new))
    for k, v in out.items():
        if isinstance(v, list) and len(v) > ARRAY_LIST_LIMIT:
            out[k] = v[:ARRAY_LIST_LIMIT]
            warnings.append("segment %r: array cut to %d items" % (k, ARRAY_LIST_LIMIT))
    return out, warnings


def aggregate_value(v):
    # The value as it lands in aggregated data, or None when aggregation skips it (arrays are
    # kept per event but ignored in aggregates; null and "" are skipped).
    if v is None or isinstance(v, list):
        return None
    s = js_str(v)
    if s == "":
        return None
    s = s.lstrip("$").replace(".", ":")
    return "[CLY]" + s if s in _FORBIDDEN_VALUES else s


# -- crashes ------------------------------------------------------------------------------------

def crash_missing(c):
    # The report is kept only with _error, _app_version and _os (or _not_os_specific: true).
    missing = [f for f in ("_error", "_app_version") if not js_truthy(c.get(f))]
    if not js_truthy(c.get("_os")) and c.get("_not_os_specific") is not True:
        missing.append("_os")
    return missing


def crash_warnings(c):
    # Device state must be in MB (battery in percent). A board reporting KB or bytes would show
    # absurd figures on a real dashboard, so such values are flagged here.
    out = []
    for what, limit in (("ram", RAM_MAX_MB), ("disk", DISK_MAX_MB)):
        cur, tot = c.get("_%s_current" % what), c.get("_%s_total" % what)
        vals = {}
        for name, v in (("_%s_current" % what, cur), ("_%s_total" % what, tot)):
            if v is None:
                continue
            f = js_parse_float(v) if js_is_number(v) else None
            if f is None or f < 0:
                out.append("%s=%r is not a number of MB" % (name, v))
            elif f > limit:
                out.append("%s=%r looks like KB or bytes, not MB" % (name, v))
            else:
                vals[name] = f
        if len(vals) == 2 and vals["_%s_current" % what] > vals["_%s_total" % what]:
            out.append("_%s_current=%r is larger than _%s_total=%r" % (what, cur, what, tot))
    bat = c.get("_bat")
    if bat is not None:
        f = js_parse_float(bat) if js_is_number(bat) else None
        if f is None or not 0 <= f <= 100:
            out.append("_bat=%r is not a percentage" % (bat,))
    return out


# -- user profile (the Enterprise "users" plugin) ------------------------------------------------

def apply_user_details(profile, details):
    # Standard fields are set; custom keys take a plain value (set), "" (unset) or {"$op": v}.
    for f in USER_FIELDS:
        if f in details:
            profile[f] = details[f]
    custom = details.get("custom")
    if not isinstance(custom, dict):
        return profile
    store = profile.setdefault("custom", {})
    for k, v in custom.items():
        if isinstance(v, dict) and v and all(isinstance(op, str) and op.startswith("$")
                                             for op in v):
            for op, arg in v.items():
                _apply_op(store, k, op, arg)
        elif v == "":
            store.pop(k, None)
        else:
            store[k] = v
    return profile


def _num(v):
    f = js_parse_float(v)
    return 0 if f is None else (int(f) if f.is_integer() else f)


def _apply_op(store, k, op, arg):
    cur = store.get(k)
    items = arg if isinstance(arg, list) else [arg]
    if op == "$set":
        store[k] = arg
    elif op == "$setOnce":
        store.setdefault(k, arg)
    elif op == "$inc":
        store[k] = _num(cur) + _num(arg)
    elif op == "$mul":
        # MongoDB's $mul on a missing field stores 0.
        store[k] = _num(cur) * _num(arg) if k in store else 0
    elif op == "$max":
        store[k] = arg if k not in store or _num(arg) > _num(cur) else cur
    elif op == "$min":
        store[k] = arg if k not in store or _num(arg) < _num(cur) else cur
    elif op in ("$push", "$addToSet", "$pull"):
        lst = list(cur) if isinstance(cur, list) else ([] if cur is None else [cur])
        for item in items:
            if op == "$push":
                lst.append(item)
            elif op == "$addToSet":
                if item not in lst:
                    lst.append(item)
            else:
                lst = [x for x in lst if x != item]
        store[k] = lst


def merge_json(old, new):
    # Used on device merges: the new user's values win, dicts are merged one level deep.
    out = dict(old or {})
    for k, v in (new or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            merged = dict(out[k])
            merged.update(v)
            out[k] = merged
        else:
            out[k] = v
    return out
