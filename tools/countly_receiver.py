# countly_receiver.py - local Countly-faithful receiver (SQLite store, fault injection, read API)
#
# Implements the server behaviour described in /work/shared/protocol.md (the §11 checklist):
# exact routing, query+body merge, the §2 validation order with byte-identical answers, the §3
# checksum rule, §10 dedup and timestamp clamping, session state with a 15 s cooldown, and the
# event / crash / user / consent / location / merge rules.  Standard library only so it runs
# anywhere the tests run.  Usable as a command and in-process (`from countly_receiver import
# Receiver`).  Never binds anything but 127.0.0.1 unless asked to.

import argparse
import email.parser
import email.policy
import hashlib
import html
import io
import json
import math
import random
import re
import signal
import socket
import sqlite3
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# A body over nginx's default client_max_body_size (1 MiB, protocol.md §2 Limits) is refused
# before it is read, so a runaway client cannot exhaust memory.
MAX_BODY = 1024 * 1024
# api.session_cooldown and api.session_duration_limit defaults of current servers (§5).
SESSION_COOLDOWN_MS = 15 * 1000
SESSION_DURATION_LIMIT = 86400
# Idle keep-alive connections are dropped after this many seconds so threads do not pile up.
IDLE_TIMEOUT_S = 30
ZERO_IDFA = "00000000-0000-0000-0000-000000000000"
# [CLY]_ keys registered by plugins (§6); any other [CLY]_ key is dropped by the server.
INTERNAL_EVENTS = frozenset(
    ("[CLY]_view", "[CLY]_action", "[CLY]_star_rating", "[CLY]_nps", "[CLY]_survey",
     "[CLY]_push_action"))
WRITE_PATHS = ("/i", "/i/bulk", "/i/sdk", "/o/sdk")
SURVEY_WIDGET_PATHS = ("/o/surveys/nps/widget", "/o/surveys/survey/widget",
                       "/o/surveys/rating/widget")
FAULT_MODES = ("500", "429", "hang", "reset", "nonjson")
USER_FIELDS = ("name", "username", "email", "organization", "phone", "picture", "gender", "byear")

MSG_MISSING_KEY = 'Missing parameter "app_key" or "device_id"'
MSG_NO_APP = "App does not exist"
MSG_PAUSED = "App is currently not accepting data"
MSG_NO_CHECKSUM = "Request does not have checksum"
MSG_BAD_CHECKSUM = "Request does not match checksum"
MSG_DUPLICATE = "Request ignored: Duplicate request"

# Regexes the server uses to take volatile params out of the dedup payload (§10).
_DEDUP_STRIP = [re.compile(r"[?&]?(%s=[^&\n]+)" % n) for n in ("rr", "checksum", "checksum256")]
# Characters Node's legacy url.parse percent-escapes in the href before the server slices P1
# out of it (§3); a client that sends them raw gets a checksum mismatch on a real server too.
_AUTO_ESCAPE = {c: "%{:02X}".format(ord(c)) for c in "\t\n\x0b\f\r \"'<>\\^`{|}"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
  id INTEGER PRIMARY KEY AUTOINCREMENT, parent_id INTEGER, received_ms INTEGER, method TEXT,
  path TEXT, query TEXT, body TEXT, content_type TEXT, params TEXT, status INTEGER,
  answer TEXT, app_key TEXT, device_id TEXT, fault TEXT);
CREATE TABLE IF NOT EXISTS devices (
  id INTEGER PRIMARY KEY AUTOINCREMENT, app_key TEXT, device_id TEXT, first_seen_ms INTEGER,
  last_seen_ms INTEGER, metrics TEXT, sdk_name TEXT, sdk_version TEXT, av TEXT, tz INTEGER,
  rr TEXT, hc TEXT, ornt TEXT, session_count INTEGER DEFAULT 0,
  total_duration_s INTEGER DEFAULT 0, last_end_ms INTEGER, last_end_final INTEGER DEFAULT 0,
  last_req TEXT, profile TEXT, country_code TEXT, city TEXT, lat REAL, lon REAL,
  ip_address TEXT, location_opt_out INTEGER DEFAULT 0, consent TEXT, attribution TEXT,
  push TEXT, UNIQUE(app_key, device_id));
CREATE TABLE IF NOT EXISTS sessions (
  id INTEGER PRIMARY KEY AUTOINCREMENT, request_id INTEGER, app_key TEXT, device_id TEXT,
  begin_ms INTEGER, end_ms INTEGER, duration_s INTEGER DEFAULT 0, open INTEGER,
  extended INTEGER DEFAULT 0, end_reason TEXT);
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT, request_id INTEGER, app_key TEXT, device_id TEXT,
  key TEXT, count INTEGER, sum REAL, dur REAL, segmentation TEXT, timestamp INTEGER,
  hour INTEGER, dow INTEGER, event_id TEXT, pvid TEXT, cvid TEXT, peid TEXT);
CREATE TABLE IF NOT EXISTS crashes (
  id INTEGER PRIMARY KEY AUTOINCREMENT, request_id INTEGER, app_key TEXT, device_id TEXT,
  error TEXT, name TEXT, nonfatal INTEGER, app_version TEXT, os TEXT, os_version TEXT,
  logs TEXT, run REAL, custom TEXT, crash TEXT, timestamp INTEGER);
CREATE TABLE IF NOT EXISTS consent (
  id INTEGER PRIMARY KEY AUTOINCREMENT, request_id INTEGER, app_key TEXT, device_id TEXT,
  changes TEXT, consent TEXT, timestamp INTEGER);
CREATE TABLE IF NOT EXISTS location (
  id INTEGER PRIMARY KEY AUTOINCREMENT, request_id INTEGER, app_key TEXT, device_id TEXT,
  country_code TEXT, city TEXT, lat REAL, lon REAL, ip_address TEXT, opt_out INTEGER,
  timestamp INTEGER);
CREATE TABLE IF NOT EXISTS apm (
  id INTEGER PRIMARY KEY AUTOINCREMENT, request_id INTEGER, app_key TEXT, device_id TEXT,
  type TEXT, name TEXT, apm_metrics TEXT, stz INTEGER, etz INTEGER, data TEXT,
  timestamp INTEGER);
CREATE TABLE IF NOT EXISTS attribution (
  id INTEGER PRIMARY KEY AUTOINCREMENT, request_id INTEGER, app_key TEXT, device_id TEXT,
  campaign_id TEXT, campaign_user TEXT, attribution_data TEXT, aid TEXT, timestamp INTEGER);
CREATE TABLE IF NOT EXISTS merges (
  id INTEGER PRIMARY KEY AUTOINCREMENT, request_id INTEGER, app_key TEXT,
  old_device_id TEXT, new_device_id TEXT, old_found INTEGER, moved TEXT, timestamp INTEGER);
CREATE TABLE IF NOT EXISTS ab (
  id INTEGER PRIMARY KEY AUTOINCREMENT, request_id INTEGER, app_key TEXT, device_id TEXT,
  action TEXT, keys TEXT, variant TEXT, timestamp INTEGER);
"""
TABLES = ("requests", "devices", "sessions", "events", "crashes", "consent", "location", "apm",
          "attribution", "merges", "ab")
# Tables whose rows move to the new device id on an old_device_id merge.
_MERGE_TABLES = ("sessions", "events", "crashes", "consent", "location", "apm", "attribution",
                 "ab")
# Columns holding JSON text; rows() decodes them so tests compare Python values.
JSON_COLUMNS = frozenset(("params", "metrics", "hc", "profile", "consent", "attribution", "push",
                          "segmentation", "custom", "crash", "changes", "apm_metrics", "moved",
                          "keys"))


def _now_ms():
    return int(time.time() * 1000)


# ---------------------------------------------------------------------------------------------
# JavaScript-compatible helpers: the server is Node, so coercions follow JS rules.

def js_truthy(v):
    # JS truthiness: "0" and [] are truthy; "", 0, null, false are not.
    if v is None or v is False or v == "":
        return False
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v != 0 and not (isinstance(v, float) and math.isnan(v))
    return True


def js_str(v):
    # String(v) as JS would produce it, for params that may be arrays or JSON values.
    if isinstance(v, str):
        return v
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e21:
            return str(int(v))
        return repr(v)
    if isinstance(v, list):
        return ",".join("" if x is None else js_str(x) for x in v)
    if isinstance(v, dict):
        return "[object Object]"
    return str(v)


def js_len(v):
    # .length of a JS string counts UTF-16 code units.
    if isinstance(v, list):
        return len(v)
    return len(js_str(v).encode("utf-16-le")) // 2


_INT_PREFIX = re.compile(r"\s*([+-]?\d+)")
_FLOAT_PREFIX = re.compile(r"\s*([+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))")


def js_parse_int(v):
    # parseInt(String(v), 10): leading integer digits or None for NaN.
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return None
        return int(v)
    if isinstance(v, int):
        return v
    m = _INT_PREFIX.match(js_str(v))
    return int(m.group(1)) if m else None


def js_parse_float(v):
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return None if isinstance(v, float) and math.isnan(v) else float(v)
    m = _FLOAT_PREFIX.match(js_str(v))
    return float(m.group(1)) if m else None


def _jsify(obj):
    # JSON.stringify writes 1.0 as 1; keep answers byte-compatible with the server.
    if isinstance(obj, float) and obj.is_integer() and abs(obj) < 1e21:
        return int(obj)
    if isinstance(obj, dict):
        return {k: _jsify(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_jsify(v) for v in obj]
    return obj


def json_text(obj):
    # Countly answers with JSON.stringify output: no spaces, raw UTF-8.
    return json.dumps(_jsify(obj), separators=(",", ":"), ensure_ascii=False)


def parse_json_param(v):
    # Tolerant JSON parse: a string is decoded, anything else is returned as is; bad JSON -> None.
    if isinstance(v, str):
        try:
            return json.loads(v)
        except ValueError:
            return None
    return v


def parse_query(qs):
    # Node querystring.parse: '+' is a space, repeated keys become arrays.
    out = {}
    for k, v in urllib.parse.parse_qsl(qs, keep_blank_values=True, errors="replace"):
        if k in out:
            prev = out[k]
            out[k] = prev + [v] if isinstance(prev, list) else [prev, v]
        else:
            out[k] = v
    return out


def node_autoescape(s):
    return "".join(_AUTO_ESCAPE.get(c, c) for c in s)


def init_time_ms(ts, now_ms):
    # common.initTimeObj (§4): 10-digit seconds or 13-digit ms; future clamped to now (compared in
    # whole seconds, as the server does); any other form is replaced by the server time.
    f = js_parse_float(ts)
    if f is None or not math.isfinite(f) or not js_truthy(ts):
        return now_ms
    if isinstance(ts, str) and not re.fullmatch(r"\s*[+-]?(\d+\.?\d*|\.\d+)\s*", ts):
        return now_ms
    digits = len(str(abs(int(round(f)))))
    now_s = now_ms // 1000
    if digits == 10:
        return now_ms if int(f) > now_s else int(round(f * 1000))
    if digits == 13:
        return now_ms if int(f) // 1000 > now_s else int(f)
    return now_ms


def checksum_ok(params, payloads, salt):
    # checksumSaltVerification (§3): returns None on pass, else the answer message.
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
    # §10: sha1 of the payload with rr/checksum/checksum256 stripped, plus the timestamp param.
    for rx in _DEDUP_STRIP:
        payload = rx.sub("", payload)
    ts = params.get("timestamp")
    suffix = js_str(ts) if js_truthy(ts) else str(now_ms)
    return hashlib.sha1(payload.encode("utf-8")).hexdigest() + suffix


def apply_user_details(profile, details):
    # Enterprise `users` plugin semantics (§8): standard fields set, custom keys with modifiers.
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


def _merge_json(old, new):
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


# ---------------------------------------------------------------------------------------------

class _Answer:
    # One HTTP answer; `fault` answers (hang/reset) carry no body.
    __slots__ = ("status", "body", "ctype", "headers", "action")

    def __init__(self, status, body, ctype="application/json; charset=utf-8", headers=None,
                 action=None):
        self.status = status
        self.body = body if isinstance(body, bytes) else body.encode("utf-8")
        self.ctype = ctype
        self.headers = headers or []
        self.action = action


def _result(status, message, **extra):
    obj = {"result": message}
    obj.update(extra)
    return _Answer(status, json_text(obj))


class _Ctx:
    # Everything the server knows about one (sub-)request.
    def __init__(self, method, path, query, body, ctype, params, form_data_url=None, bulk=False):
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.ctype = ctype
        self.params = params
        self.form_data_url = form_data_url
        self.bulk = bulk
        self.request_id = None


class Receiver:
    """In-process Countly receiver. See module header and tools/receiver_fixtures.example.json."""

    def __init__(self, apps=None, db_path=":memory:", fixtures=None, clock=None, verbose=False):
        self.clock = clock or _now_ms
        self.verbose = verbose
        self._lock = threading.RLock()
        self._apps = {}
        for key, cfg in (apps or {}).items():
            if isinstance(cfg, dict):
                self.set_app(key, cfg.get("salt"), bool(cfg.get("paused")))
            else:
                self.set_app(key, cfg)
        self.fixtures = self._load_fixtures(fixtures)
        self._db = sqlite3.connect(db_path, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.executescript(SCHEMA)
        self._stop = threading.Event()
        self._server = None
        self._thread = None
        self._conns = set()
        self.port = None
        self.url = None
        self._clear_state()

    # -- public API -------------------------------------------------------------------------

    def start(self, host="127.0.0.1", port=0):
        self._stop.clear()
        self._server = _Server((host, port), _Handler)
        self._server.receiver = self
        self.port = self._server.server_address[1]
        self.url = "http://%s:%d" % (host, self.port)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True,
                                        name="countly-receiver")
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            # Wake handler threads parked on idle keep-alive connections.
            with self._lock:
                conns = list(self._conns)
            for s in conns:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._thread.join(5)
            self._server = None

    def __enter__(self):
        return self if self._server else self.start()

    def __exit__(self, *exc):
        self.stop()

    def set_app(self, key, salt=None, paused=False):
        with self._lock:
            self._apps[key] = {"salt": salt or "", "paused": bool(paused)}

    def inject(self, mode, count=None, fraction=None, retry_after=None, hang_s=None, seed=None):
        # count=None: no limit; fraction=None: every considered request fails.
        if mode is not None and mode not in FAULT_MODES:
            raise ValueError("unknown fault mode %r" % (mode,))
        with self._lock:
            if mode is None:
                self._fault = None
                return
            self._fault = {"mode": mode, "count": count, "fraction": fraction,
                           "retry_after": 1 if retry_after is None else retry_after,
                           "hang_s": 3.0 if hang_s is None else float(hang_s),
                           "rng": random.Random(seed)}

    def stats(self):
        with self._lock:
            return {"connections": self._connections, "requests": self._requests}

    def rows(self, table, **filters):
        if table not in TABLES:
            raise ValueError("unknown table %r" % (table,))
        with self._lock:
            cols = [r[1] for r in self._db.execute("PRAGMA table_info(%s)" % table)]
            bad = [k for k in filters if k not in cols]
            if bad:
                raise ValueError("unknown column(s) %s in %s" % (", ".join(bad), table))
            where = " AND ".join("%s = ?" % k for k in filters)
            sql = "SELECT * FROM %s%s ORDER BY id" % (table, " WHERE " + where if where else "")
            cur = self._db.execute(sql, list(filters.values()))
            out = []
            for row in cur.fetchall():
                d = dict(row)
                for k in JSON_COLUMNS.intersection(d):
                    if isinstance(d[k], str):
                        try:
                            d[k] = json.loads(d[k])
                        except ValueError:
                            pass
                out.append(d)
            return out

    def reset(self):
        with self._lock:
            for t in TABLES:
                self._db.execute("DELETE FROM %s" % t)
            self._db.commit()
            self._clear_state()

    # -- internals ----------------------------------------------------------------------------

    def _clear_state(self):
        self._connections = 0
        self._requests = 0
        self._fault = None
        self._ab = {}

    @staticmethod
    def _load_fixtures(fixtures):
        if fixtures is None:
            return {}
        if isinstance(fixtures, dict):
            return fixtures
        with open(fixtures, encoding="utf-8") as f:
            return json.load(f)

    def _fixture(self, app_key, name, default):
        per_app = self.fixtures.get("apps", {}).get(app_key, {})
        if name in per_app:
            return per_app[name]
        return self.fixtures.get(name, default)

    def _take_fault(self, path):
        # Decides under the lock whether this request gets the injected fault.
        if path not in WRITE_PATHS:
            return None
        with self._lock:
            f = self._fault
            if f is None:
                return None
            if f["count"] is not None:
                if f["count"] <= 0:
                    self._fault = None
                    return None
                f["count"] -= 1
            if f["fraction"] is not None and f["rng"].random() >= f["fraction"]:
                return None
            return dict(f)

    def _log(self, *args):
        if self.verbose:
            print("[receiver]", *args, file=sys.stderr, flush=True)

    # -- HTTP-level dispatch (called by the handler) -------------------------------------------

    def handle_http(self, method, raw_path, headers, body):
        with self._lock:
            self._requests += 1
        path, _, query = raw_path.partition("?")
        if path.startswith("/_receiver/") or (path == "/" and method == "GET"):
            return self._control(method, path, query, body)
        ctype = headers.get("Content-Type", "") or ""
        body_text = body.decode("utf-8", "replace")
        params = parse_query(query)
        form_data_url = None
        if method == "POST" and body:
            body_params, form_data_url = self._parse_body(ctype, body, body_text)
            params.update(body_params)
        href = node_autoescape(raw_path)
        ctx = _Ctx(method, path, href[len(node_autoescape(path)) + 1:] if "?" in href else "",
                   body_text if method == "POST" else "", ctype, params, form_data_url)
        fault = self._take_fault(path) if method in ("GET", "POST") else None
        with self._lock:
            ctx.request_id = self._insert_request(ctx, path, query)
            if fault:
                ans = self._fault_answer(fault)
            else:
                try:
                    ans = self._route(ctx)
                except Exception as e:  # a receiver bug must not kill the connection silently
                    self._log("internal error", repr(e))
                    ans = _result(500, "Internal receiver error: %s" % e)
            self._finish_request(ctx.request_id, ans, fault)
        return ans

    def record_rejected(self, method, raw_path, headers, ans):
        # Requests refused on framing (413, bad Content-Length) are still logged.
        path, _, query = raw_path.partition("?")
        with self._lock:
            self._requests += 1
            ctx = _Ctx(method, path, query, "", headers.get("Content-Type", ""), {})
            self._finish_request(self._insert_request(ctx, path, query), ans)

    @staticmethod
    def _parse_body(ctype, body, body_text):
        main = ctype.split(";")[0].strip().lower()
        if main == "application/json":
            obj = parse_json_param(body_text)
            return (obj if isinstance(obj, dict) else {}), None
        if main == "multipart/form-data":
            return Receiver._parse_multipart(ctype, body)
        # Form-encoded; also used when a client forgets the Content-Type header.
        return parse_query(body_text), None

    @staticmethod
    def _parse_multipart(ctype, body):
        try:
            msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + ctype.encode("latin-1", "replace") + b"\r\n\r\n" + body)
        except Exception:
            return {}, None
        fields = {}
        if msg.is_multipart():
            for part in msg.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if not name or part.get_param("filename", header="content-disposition"):
                    continue
                data = part.get_payload(decode=True) or b""
                fields[name] = data.decode("utf-8", "replace")
        # formDataUrl (§3): fields joined as k=v& with decoded values.
        return fields, "&".join("%s=%s" % kv for kv in fields.items())

    def _fault_answer(self, f):
        mode = f["mode"]
        if mode == "500":
            return _result(500, "Internal error (simulated)")
        if mode == "429":
            a = _result(429, "Too many requests (simulated)")
            a.headers.append(("Retry-After", str(f["retry_after"])))
            return a
        if mode == "nonjson":
            return _Answer(200, "<html>ok</html>", ctype="text/html; charset=utf-8")
        return _Answer(0, b"", action=(mode, f["hang_s"]))

    def _insert_request(self, ctx, path, query, parent_id=None):
        p = ctx.params
        cur = self._db.execute(
            "INSERT INTO requests (parent_id, received_ms, method, path, query, body, "
            "content_type, params, app_key, device_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (parent_id, self.clock(), ctx.method, path, query, ctx.body, ctx.ctype,
             json_text(p), js_str(p["app_key"]) if "app_key" in p else None,
             js_str(p["device_id"]) if "device_id" in p else None))
        return cur.lastrowid

    def _finish_request(self, request_id, ans, fault=None):
        status = ans.status or None
        answer = ans.body.decode("utf-8", "replace") if status else None
        self._db.execute("UPDATE requests SET status=?, answer=?, fault=? WHERE id=?",
                         (status, answer, fault["mode"] if fault else None, request_id))
        self._db.commit()

    # -- Countly routing (§1) ------------------------------------------------------------------

    def _route(self, ctx):
        p = ctx.params
        # Global 400s: app_id / user_id must be 24 characters when present (§1).
        for name in ("app_id", "user_id"):
            if name in p and js_truthy(p[name]) and js_len(p[name]) != 24:
                return _result(400, 'Invalid parameter "%s"' % name)
        path = ctx.path
        if path == "/i":
            return self._write(ctx)
        if path == "/i/bulk":
            return self._bulk(ctx)
        if path in ("/o/sdk", "/i/sdk"):
            return self._fetch(ctx)
        if path == "/o/ping":
            return _result(200, "Success")
        if path == "/o/feedback/widget" or path in SURVEY_WIDGET_PATHS:
            return self._widget(ctx)
        return _result(400, "Invalid path")

    def _app_checks(self, ctx, write):
        # Steps 1-8 of §2 shared by /i and /o/sdk; returns (answer or None, app, key, device).
        p = ctx.params
        if not js_truthy(p.get("app_key")) or not js_truthy(p.get("device_id")):
            return _result(400, MSG_MISSING_KEY), None, None, None
        key, dev = js_str(p["app_key"]), js_str(p["device_id"])
        if dev == ZERO_IDFA:
            return _result(200, "Ignoring device_id"), None, key, dev
        app = self._apps.get(key)
        if app is None:
            return _result(400, MSG_NO_APP), None, key, dev
        if write and app["paused"]:
            return _result(400, MSG_PAUSED), app, key, dev
        if app["salt"]:
            if ctx.bulk:
                # Bulk items carry href "/i" without fullPath; the server cannot verify them,
                # so a salted app never accepts a bulk item (protocol.md §2: don't combine).
                return _result(200, MSG_BAD_CHECKSUM), app, key, dev
            payloads = [ctx.query]
            if ctx.method == "POST":
                payloads.append(ctx.form_data_url if ctx.form_data_url is not None
                                else ctx.body)
            msg = checksum_ok(p, payloads, app["salt"])
            if msg:
                return _result(200, msg), app, key, dev
        return None, app, key, dev

    def _write(self, ctx):
        ans, app, key, dev = self._app_checks(ctx, write=True)
        if ans:
            return ans
        p = ctx.params
        now = self.clock()
        # Dedup payload: href.substr(3) (the query of "/i?...") plus "&" + raw body for POST;
        # bulk items use "&" + JSON of the item (§10).
        if ctx.bulk:
            payload = "&" + json_text(p)
        else:
            payload = ctx.query
            if ctx.method == "POST":
                payload += "&" + ctx.body
        req_hash = dedup_hash(payload, p, now)
        row = self._device(key, dev)
        if row is not None and row["last_req"] == req_hash:
            return _result(200, "Success", info=MSG_DUPLICATE)
        old = p.get("old_device_id")
        if js_truthy(old) and js_str(old) != dev:
            self._merge(ctx, key, js_str(old), dev, now)
        self._process(ctx, key, dev, now, req_hash)
        return _result(200, "Success")

    def _bulk(self, ctx):
        reqs = ctx.params.get("requests")
        if not js_truthy(reqs):
            return _result(400, 'Missing parameter "requests"')
        reqs = parse_json_param(reqs)
        if not isinstance(reqs, list):
            return _result(400, 'Invalid parameter "requests"')
        top_key = ctx.params.get("app_key")
        for item in reqs:
            if not isinstance(item, dict) or not js_truthy(item.get("device_id")):
                continue
            if not js_truthy(item.get("app_key")) and not js_truthy(top_key):
                continue
            item = dict(item)
            item["app_key"] = item.get("app_key") if js_truthy(item.get("app_key")) else top_key
            sub = _Ctx(ctx.method, "/i", "", "", "application/json", item, bulk=True)
            sub.request_id = self._insert_request(sub, "/i", "", parent_id=ctx.request_id)
            try:
                ans = self._write(sub)
            except Exception as e:  # per-item errors are swallowed by the server
                self._log("bulk item error", repr(e))
                ans = _result(400, "Cannot process: %s" % e)
            self._finish_request(sub.request_id, ans)
        return _result(200, "Success")

    # -- /o/sdk (§9) ---------------------------------------------------------------------------

    def _fetch(self, ctx):
        ans, app, key, dev = self._app_checks(ctx, write=False)
        if ans:
            return ans
        p = ctx.params
        now = self.clock()
        if not app["paused"] and ("metrics" in p or any(
                k in p for k in ("country_code", "city", "location", "ip_address"))):
            self._touch_device(key, dev, now)
            self._metrics(key, dev, p)
            self._location(ctx, key, dev, p, now, begin=False)
        method = js_str(p.get("method", ""))
        handler = getattr(self, "_m_" + method, None) if method else None
        if handler is None:
            return _result(400, "Invalid method")
        return handler(ctx, key, dev, now)

    def _keys_param(self, p, name):
        v = parse_json_param(p.get(name))
        return v if isinstance(v, list) else None

    def _m_rc(self, ctx, key, dev, now):
        values = dict(self._fixture(key, "remote_config", {}))
        variants = self._fixture(key, "ab_variants", {})
        for param, vname in self._ab.get((key, dev), {}).items():
            for v in variants.get(param, []):
                if v.get("name") == vname:
                    values[param] = v.get("value")
        keys = self._keys_param(ctx.params, "keys")
        omit = self._keys_param(ctx.params, "omit_keys")
        if keys is not None:
            values = {k: values[k] for k in keys if isinstance(k, str) and k in values}
        elif omit is not None:
            values = {k: v for k, v in values.items() if k not in omit}
        return _Answer(200, json_text(values))

    _m_fetch_remote_config = _m_rc

    def _ab_log(self, ctx, key, dev, action, keys, variant, now):
        self._db.execute("INSERT INTO ab (request_id, app_key, device_id, action, keys, variant,"
                         " timestamp) VALUES (?,?,?,?,?,?,?)",
                         (ctx.request_id, key, dev, action,
                          None if keys is None else json_text(keys), variant, now))

    def _m_ab(self, ctx, key, dev, now):
        keys = self._keys_param(ctx.params, "keys")
        if not js_truthy(ctx.params.get("keys")):
            return _result(400, "Missing Keys")
        self._ab_log(ctx, key, dev, "ab", keys, None, now)
        return _result(200, "Successfully enrolled in ab tests")

    def _m_ab_fetch_variants(self, ctx, key, dev, now):
        variants = self._fixture(key, "ab_variants", {})
        keys = self._keys_param(ctx.params, "keys")
        if keys:
            variants = {k: v for k, v in variants.items() if k in keys}
        return _Answer(200, json_text(variants))

    def _m_ab_fetch_experiments(self, ctx, key, dev, now):
        return _Answer(200, json_text(self._fixture(key, "ab_experiments", [])))

    def _m_ab_enroll_variant(self, ctx, key, dev, now):
        param = ctx.params.get("key")
        if not js_truthy(param):
            return _result(400, "Invalid request, key is missing")
        param, vname = js_str(param), js_str(ctx.params.get("variant", ""))
        names = [v.get("name") for v in self._fixture(key, "ab_variants", {}).get(param, [])]
        if vname not in names:
            return _result(400, "Variant not found")
        self._ab.setdefault((key, dev), {})[param] = vname
        self._ab_log(ctx, key, dev, "ab_enroll_variant", [param], vname, now)
        return _result(200, "Success")

    def _m_ab_opt_out(self, ctx, key, dev, now):
        keys = self._keys_param(ctx.params, "keys")
        enrolled = self._ab.get((key, dev), {})
        for k in list(enrolled) if not keys else keys:
            enrolled.pop(k, None)
        self._ab_log(ctx, key, dev, "ab_opt_out", keys, None, now)
        return _result(200, "Success")

    def _m_feedback(self, ctx, key, dev, now):
        return _Answer(200, json_text({"result": self._fixture(key, "feedback_widgets", [])}))

    def _m_sc(self, ctx, key, dev, now):
        sc = self._fixture(key, "server_config", {})
        return _Answer(200, json_text({"v": sc.get("v", 2), "t": now, "c": sc.get("c", {})}))

    def _widget(self, ctx):
        wid = ctx.params.get("widget_id")
        if not js_truthy(wid):
            return _result(400, 'Missing parameter "widget_id"')
        widgets = self.fixtures.get("widgets", {})
        w = widgets.get(js_str(wid))
        if w is None:
            return _result(404, "Widget not found.")
        return _Answer(200, json_text(w))

    # -- data processing (§4-§8) -------------------------------------------------------------

    def _device(self, key, dev):
        return self._db.execute("SELECT * FROM devices WHERE app_key=? AND device_id=?",
                                (key, dev)).fetchone()

    def _touch_device(self, key, dev, now):
        self._db.execute("INSERT OR IGNORE INTO devices (app_key, device_id, first_seen_ms)"
                         " VALUES (?,?,?)", (key, dev, now))
        self._db.execute("UPDATE devices SET last_seen_ms=? WHERE app_key=? AND device_id=?",
                         (now, key, dev))

    def _set(self, key, dev, **cols):
        sets = ", ".join("%s=?" % c for c in cols)
        self._db.execute("UPDATE devices SET %s WHERE app_key=? AND device_id=?" % sets,
                         list(cols.values()) + [key, dev])

    def _process(self, ctx, key, dev, now, req_hash):
        p = ctx.params
        ts = init_time_ms(p.get("timestamp"), now)
        self._touch_device(key, dev, now)
        cols = {"last_req": req_hash}
        for name in ("sdk_name", "sdk_version", "av", "rr"):
            if name in p:
                cols[name] = js_str(p[name])
        if "tz" in p and js_parse_int(p["tz"]) is not None:
            cols["tz"] = js_parse_int(p["tz"])
        if "hc" in p:
            hc = parse_json_param(p["hc"])
            cols["hc"] = json_text(hc if hc is not None else js_str(p["hc"]))
        self._set(key, dev, **cols)
        self._metrics(key, dev, p)
        self._location(ctx, key, dev, p, ts, begin=js_truthy(p.get("begin_session")))
        self._sessions(ctx, key, dev, p, ts)
        self._events(ctx, key, dev, p, ts, now)
        self._crash(ctx, key, dev, p, ts)
        self._user_details(key, dev, p)
        self._consent(ctx, key, dev, p, ts)
        self._apm(ctx, key, dev, p, ts)
        self._attribution(ctx, key, dev, p, ts)
        if js_truthy(p.get("token_session")):
            push = {k: js_str(p[k]) for k in ("android_token", "ios_token", "token_provider",
                                              "test_mode", "locale") if k in p}
            self._set(key, dev, push=json_text(push))

    def _metrics(self, key, dev, p):
        m = parse_json_param(p.get("metrics"))
        if not isinstance(m, dict):
            return
        row = self._device(key, dev)
        cur = json.loads(row["metrics"]) if row["metrics"] else {}
        cur.update(m)
        self._set(key, dev, metrics=json_text(cur))

    def _location(self, ctx, key, dev, p, ts, begin):
        if not any(k in p for k in ("country_code", "city", "location", "ip_address")):
            return
        loc = {}
        opt_out = 0
        if "location" in p and js_str(p["location"]) == "" and begin:
            # Empty location on begin_session = opted out (§8).
            opt_out = 1
            loc.update(country_code="Unknown", city="Unknown", lat=None, lon=None)
        elif js_truthy(p.get("location")):
            parts = js_str(p["location"]).split(",")
            if len(parts) == 2:
                lat, lon = js_parse_float(parts[0]), js_parse_float(parts[1])
                if lat is not None and lon is not None:
                    loc.update(lat=lat, lon=lon)
        if not opt_out:
            for k in ("country_code", "city"):
                if js_truthy(p.get(k)):
                    loc[k] = js_str(p[k])
        if js_truthy(p.get("ip_address")):
            loc["ip_address"] = js_str(p["ip_address"])
        loc["location_opt_out"] = opt_out
        self._set(key, dev, **loc)
        self._db.execute(
            "INSERT INTO location (request_id, app_key, device_id, country_code, city, lat, lon,"
            " ip_address, opt_out, timestamp) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (ctx.request_id, key, dev, loc.get("country_code"), loc.get("city"), loc.get("lat"),
             loc.get("lon"), loc.get("ip_address"), opt_out, ts))

    def _sessions(self, ctx, key, dev, p, ts):
        q = self._db.execute
        row = self._device(key, dev)
        ignore_cd = js_truthy(p.get("ignore_cooldown"))
        if js_truthy(p.get("begin_session")):
            open_s = q("SELECT id FROM sessions WHERE app_key=? AND device_id=? AND open=1",
                       (key, dev)).fetchall()
            last = q("SELECT id FROM sessions WHERE app_key=? AND device_id=? ORDER BY id DESC"
                     " LIMIT 1", (key, dev)).fetchone()
            if open_s:
                # An unended previous session is closed implicitly.
                q("UPDATE sessions SET open=0, end_ms=?, end_reason='implicit' WHERE app_key=?"
                  " AND device_id=? AND open=1", (ts, key, dev))
            if (not open_s and last is not None and not ignore_cd
                    and not row["last_end_final"] and row["last_end_ms"] is not None
                    and ts - row["last_end_ms"] < SESSION_COOLDOWN_MS):
                q("UPDATE sessions SET open=1, end_ms=NULL, end_reason=NULL,"
                  " extended=extended+1 WHERE id=?", (last["id"],))
            else:
                q("INSERT INTO sessions (request_id, app_key, device_id, begin_ms, open)"
                  " VALUES (?,?,?,?,1)", (ctx.request_id, key, dev, ts))
                self._set(key, dev, session_count=row["session_count"] + 1)
        if "session_duration" in p:
            d = js_parse_int(p["session_duration"])
            if d:
                d = 30 if d < 0 else min(d, SESSION_DURATION_LIMIT)
                last = q("SELECT id FROM sessions WHERE app_key=? AND device_id=?"
                         " ORDER BY open DESC, id DESC LIMIT 1", (key, dev)).fetchone()
                if last is not None:
                    q("UPDATE sessions SET duration_s=duration_s+? WHERE id=?", (d, last["id"]))
                q("UPDATE devices SET total_duration_s=total_duration_s+? WHERE app_key=? AND"
                  " device_id=?", (d, key, dev))
        if js_truthy(p.get("end_session")):
            cur = q("UPDATE sessions SET open=0, end_ms=?, end_reason='end_session' WHERE"
                    " app_key=? AND device_id=? AND open=1", (ts, key, dev))
            if cur.rowcount:
                self._set(key, dev, last_end_ms=ts, last_end_final=1 if ignore_cd else 0)

    def _events(self, ctx, key, dev, p, ts, now):
        evs = parse_json_param(p.get("events")) if "events" in p else None
        if not isinstance(evs, list):
            return
        for e in evs:
            if not isinstance(e, dict) or not js_truthy(e.get("key")):
                continue
            k = e["key"] if isinstance(e["key"], str) else json_text(e["key"])
            if k == "[CLY]_orientation":
                seg = e.get("segmentation")
                if isinstance(seg, dict) and "mode" in seg:
                    self._set(key, dev, ornt=js_str(seg["mode"]))
                continue
            if k.startswith("[CLY]_") and k not in INTERNAL_EVENTS:
                continue
            if js_len(k) >= 128:
                continue
            count = js_parse_int(e.get("count"))
            s = js_parse_float(e.get("sum"))
            dur = js_parse_float(e.get("dur"))
            seg = e.get("segmentation")
            ets = init_time_ms(e["timestamp"], now) if "timestamp" in e else ts
            hour = js_parse_int(e.get("hour", p.get("hour")))
            dow = js_parse_int(e.get("dow", p.get("dow")))
            self._db.execute(
                "INSERT INTO events (request_id, app_key, device_id, key, count, sum, dur,"
                " segmentation, timestamp, hour, dow, event_id, pvid, cvid, peid)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (ctx.request_id, key, dev, k, 1 if count is None else count,
                 None if s is None else round(s, 5), dur,
                 json_text(seg) if isinstance(seg, dict) else None, ets,
                 0 if hour == 24 else hour, dow,
                 *(js_str(e[f]) if f in e else None for f in ("id", "pvid", "cvid", "peid"))))

    def _crash(self, ctx, key, dev, p, ts):
        c = parse_json_param(p.get("crash")) if "crash" in p else None
        if not isinstance(c, dict):
            return
        # Accepted only with _error, _app_version and _os (or _not_os_specific) (§7).
        if not (js_truthy(c.get("_error")) and js_truthy(c.get("_app_version"))
                and (js_truthy(c.get("_os")) or c.get("_not_os_specific") is True)):
            return
        err = js_str(c["_error"])
        name = js_str(c["_name"]) if js_truthy(c.get("_name")) else err.split("\n")[0]
        nonfatal = c.get("_nonfatal") in (True, "true")
        run = js_parse_float(c.get("_run"))
        custom = c.get("_custom") if isinstance(c.get("_custom"), dict) else None
        self._db.execute(
            "INSERT INTO crashes (request_id, app_key, device_id, error, name, nonfatal,"
            " app_version, os, os_version, logs, run, custom, crash, timestamp)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (ctx.request_id, key, dev, err, name, int(nonfatal), js_str(c["_app_version"]),
             js_str(c["_os"]) if "_os" in c else None,
             js_str(c["_os_version"]) if "_os_version" in c else None,
             js_str(c["_logs"]) if "_logs" in c else None, run,
             None if custom is None else json_text(custom), json_text(c), ts))

    def _user_details(self, key, dev, p):
        ud = parse_json_param(p.get("user_details")) if "user_details" in p else None
        if not isinstance(ud, dict):
            return
        row = self._device(key, dev)
        profile = json.loads(row["profile"]) if row["profile"] else {}
        self._set(key, dev, profile=json_text(apply_user_details(profile, ud)))

    def _consent(self, ctx, key, dev, p, ts):
        c = parse_json_param(p.get("consent")) if "consent" in p else None
        if not isinstance(c, dict):
            return
        row = self._device(key, dev)
        cur = json.loads(row["consent"]) if row["consent"] else {}
        changes = {k: v for k, v in c.items() if cur.get(k) != v}
        cur.update(c)
        self._set(key, dev, consent=json_text(cur))
        if changes:
            self._db.execute("INSERT INTO consent (request_id, app_key, device_id, changes,"
                             " consent, timestamp) VALUES (?,?,?,?,?,?)",
                             (ctx.request_id, key, dev, json_text(changes), json_text(cur), ts))

    def _apm(self, ctx, key, dev, p, ts):
        if "apm" not in p:
            return
        raw = p["apm"] if isinstance(p["apm"], str) else json_text(p["apm"])
        a = parse_json_param(p["apm"])
        a = a if isinstance(a, dict) else {}
        metrics = a.get("apm_metrics")
        self._db.execute(
            "INSERT INTO apm (request_id, app_key, device_id, type, name, apm_metrics, stz, etz,"
            " data, timestamp) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (ctx.request_id, key, dev, a.get("type"), a.get("name"),
             json_text(metrics) if metrics is not None else None,
             js_parse_int(a.get("stz")), js_parse_int(a.get("etz")), raw, ts))

    def _attribution(self, ctx, key, dev, p, ts):
        names = ("campaign_id", "campaign_user", "attribution_data", "aid")
        if not any(n in p for n in names):
            return
        vals = {n: (p[n] if isinstance(p[n], str) else json_text(p[n])) for n in names if n in p}
        row = self._device(key, dev)
        cur = json.loads(row["attribution"]) if row["attribution"] else {}
        cur.update(vals)
        self._set(key, dev, attribution=json_text(cur))
        self._db.execute(
            "INSERT INTO attribution (request_id, app_key, device_id, campaign_id, campaign_user,"
            " attribution_data, aid, timestamp) VALUES (?,?,?,?,?,?,?,?)",
            (ctx.request_id, key, dev, *(vals.get(n) for n in names), ts))

    def _merge(self, ctx, key, old, new, now):
        # appUsers.merge (§8): the old user's data is moved to the new device id.
        q = self._db.execute
        old_row, new_row = self._device(key, old), self._device(key, new)
        moved = {}
        if old_row is not None:
            for t in _MERGE_TABLES:
                moved[t] = q("UPDATE %s SET device_id=? WHERE app_key=? AND device_id=?" % t,
                             (new, key, old)).rowcount
            if new_row is None:
                q("UPDATE devices SET device_id=? WHERE app_key=? AND device_id=?",
                  (new, key, old))
            else:
                self._merge_rows(key, old_row, new_row)
                q("DELETE FROM devices WHERE app_key=? AND device_id=?", (key, old))
            ab = self._ab.pop((key, old), None)
            if ab:
                self._ab.setdefault((key, new), {}).update(ab)
        q("INSERT INTO merges (request_id, app_key, old_device_id, new_device_id, old_found,"
          " moved, timestamp) VALUES (?,?,?,?,?,?,?)",
          (ctx.request_id, key, old, new, int(old_row is not None), json_text(moved), now))

    def _merge_rows(self, key, o, n):
        cols = {}
        for c in ("metrics", "profile", "consent", "attribution", "hc", "push"):
            if o[c] or n[c]:
                cols[c] = json_text(_merge_json(json.loads(o[c] or "{}"),
                                                json.loads(n[c] or "{}")))
        for c in ("sdk_name", "sdk_version", "av", "tz", "rr", "ornt", "country_code", "city",
                  "lat", "lon", "ip_address", "last_end_ms"):
            if n[c] is None and o[c] is not None:
                cols[c] = o[c]
        cols["first_seen_ms"] = min(x for x in (o["first_seen_ms"], n["first_seen_ms"])
                                    if x is not None)
        cols["session_count"] = o["session_count"] + n["session_count"]
        cols["total_duration_s"] = o["total_duration_s"] + n["total_duration_s"]
        self._set(key, n["device_id"], **cols)

    # -- control / read API ----------------------------------------------------------------------

    def _control(self, method, path, query, body):
        if path == "/":
            return _Answer(200, self._html(), ctype="text/html; charset=utf-8")
        name = path[len("/_receiver/"):]
        try:
            if method == "GET" and name == "stats":
                return _Answer(200, json_text(self.stats()))
            if method == "GET" and name in TABLES:
                filters = {k: js_str(v) for k, v in parse_query(query).items()}
                return _Answer(200, json_text(self.rows(name, **filters)))
            if method == "POST" and name == "reset":
                self.reset()
                return _result(200, "Success")
            if method == "POST" and name in ("fault", "app"):
                cfg = json.loads(body.decode("utf-8") or "{}")
                if not isinstance(cfg, dict):
                    raise ValueError("JSON object expected")
                if name == "fault":
                    self.inject(cfg.get("mode"), cfg.get("count"), cfg.get("fraction"),
                                cfg.get("retry_after"), cfg.get("hang_s"), cfg.get("seed"))
                else:
                    if not cfg.get("key"):
                        raise ValueError("key is required")
                    self.set_app(cfg["key"], cfg.get("salt"), bool(cfg.get("paused")))
                return _result(200, "Success")
        except (ValueError, TypeError) as e:
            return _result(400, str(e))
        return _result(404, "Unknown receiver endpoint")

    def _html(self):
        def table(title, rows, cols):
            out = ["<h2>%s (%d)</h2><table><tr>" % (html.escape(title), len(rows))]
            out += ["<th>%s</th>" % html.escape(c) for c in cols]
            out.append("</tr>")
            for r in rows:
                out.append("<tr>" + "".join(
                    "<td>%s</td>" % html.escape(
                        r[c] if isinstance(r[c], str) else json_text(r[c])) for c in cols)
                    + "</tr>")
            return "".join(out) + "</table>"

        parts = [
            table("Devices", self.rows("devices"),
                  ("app_key", "device_id", "last_seen_ms", "session_count", "total_duration_s",
                   "country_code", "city", "metrics", "profile", "consent")),
            table("Sessions", self.rows("sessions")[-50:],
                  ("device_id", "begin_ms", "end_ms", "duration_s", "open", "extended")),
            table("Events (last 100)", self.rows("events")[-100:],
                  ("device_id", "key", "count", "sum", "dur", "segmentation", "timestamp")),
            table("Crashes", self.rows("crashes")[-50:],
                  ("device_id", "name", "nonfatal", "app_version", "os", "logs")),
        ]
        return ("<!doctype html><html><head><meta charset='utf-8'>"
                "<meta http-equiv='refresh' content='2'><title>countly receiver</title>"
                "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
                "td,th{border:1px solid #ccc;padding:2px 6px;font-size:12px;max-width:40em;"
                "overflow-wrap:anywhere}</style></head><body><h1>countly receiver</h1>"
                + "".join(parts) + "</body></html>")


# ---------------------------------------------------------------------------------------------
# HTTP plumbing

class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    receiver = None

    def handle_error(self, request, client_address):
        # Client disconnects are routine for a test receiver; no tracebacks on stderr.
        self.receiver._log("connection error from", client_address, repr(sys.exc_info()[1]))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_S
    server_version = "countly-receiver/1"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        rcv = self.server.receiver
        with rcv._lock:
            rcv._connections += 1
            rcv._conns.add(self.connection)

    def finish(self):
        rcv = self.server.receiver
        with rcv._lock:
            rcv._conns.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, fmt, *args):
        self.server.receiver._log(self.address_string(), fmt % args)

    def send_error(self, code, message=None, explain=None):
        # Malformed request lines/headers: JSON answer, then close.  A garbage request line
        # leaves the version at HTTP/0.9, which would suppress the status line.
        self.close_connection = True
        if not str(self.request_version).startswith("HTTP/1"):
            self.request_version = "HTTP/1.1"
        try:
            self._send(_result(code, message or "Bad request"))
        except OSError:
            pass

    def _send(self, ans):
        self.send_response(ans.status)
        self.send_header("Content-Type", ans.ctype)
        self.send_header("Access-Control-Allow-Origin", "*")
        for k, v in ans.headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(ans.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        # Headers and body leave in one write: a separate small body write would meet Nagle
        # plus delayed ACK and cost ~40 ms per keep-alive request.
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(ans.body)
        self.flush_headers()

    def _read_body(self):
        # Returns bytes, or an _Answer to send (and close) when the framing is unusable.
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            return self._read_chunked()
        cl = self.headers.get_all("Content-Length") or []
        if not cl:
            return b""
        if len(set(v.strip() for v in cl)) != 1 or not cl[0].strip().isdigit():
            self.close_connection = True
            return _result(400, "Invalid Content-Length")
        n = int(cl[0])
        if n > MAX_BODY:
            self.close_connection = True
            return _result(413, "Request entity too large")
        data = self.rfile.read(n)
        if len(data) < n:
            raise ConnectionError("client closed mid-body")
        return data

    def _read_chunked(self):
        chunks, total = [], 0
        while True:
            line = self.rfile.readline(1024)
            if not line:
                raise ConnectionError("client closed mid-body")
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                self.close_connection = True
                return _result(400, "Invalid chunked encoding")
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                self.close_connection = True
                return _result(413, "Request entity too large")
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _dispatch(self):
        rcv = self.server.receiver
        try:
            body = self._read_body()
        except (ConnectionError, OSError):
            self.close_connection = True
            return
        if isinstance(body, _Answer):
            rcv.record_rejected(self.command, self.path, self.headers, body)
            self._send(body)
            return
        ans = rcv.handle_http(self.command, self.path, self.headers, body)
        if ans.action:
            mode, hang_s = ans.action
            self.close_connection = True
            if mode == "hang":
                rcv._stop.wait(hang_s)
            else:
                # SO_LINGER 0 makes close() send RST instead of FIN; the buffered file objects
                # hold references, so close them first for the socket to really close now.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.rfile.close()
                self.wfile.close()
                self.connection.close()
                # http.server flushes wfile after do_*; give it harmless stand-ins.
                self.rfile, self.wfile = io.BytesIO(), io.BytesIO()
            return
        self._send(ans)

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_OPTIONS(self):
        rcv = self.server.receiver
        with rcv._lock:
            rcv._requests += 1
        self.send_response(200)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
        self.send_header("Access-Control-Allow-Headers",
                         "Origin, X-Requested-With, Content-Type, Accept")
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.wfile.flush()

    def _not_allowed(self):
        rcv = self.server.receiver
        with rcv._lock:
            rcv._requests += 1
        try:
            body = self._read_body()
        except (ConnectionError, OSError):
            self.close_connection = True
            return
        if isinstance(body, _Answer):
            self._send(body)
            return
        self._send(_result(405, "Method not allowed"))

    # Every other method (PUT, DELETE, PATCH, HEAD...) answers 405 like the server.
    def __getattr__(self, name):
        if name.startswith("do_"):
            return self._not_allowed
        raise AttributeError(name)


# ---------------------------------------------------------------------------------------------

def _parse_app(spec):
    key, _, salt = spec.partition(":")
    return key, (salt or None)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Local Countly-faithful receiver")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--db", default=":memory:", help="SQLite file (default: in memory)")
    ap.add_argument("--app", action="append", default=[], metavar="APP_KEY[:SALT]")
    ap.add_argument("--fixtures", help="JSON fixture file (see receiver_fixtures.example.json)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    apps = dict(_parse_app(a) for a in args.app)
    r = Receiver(apps=apps, db_path=args.db, fixtures=args.fixtures, verbose=args.verbose)
    r.start(args.host, args.port)
    # `kill` (SIGTERM, e.g. from make) shuts down as cleanly as Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    print("countly receiver listening on %s (apps: %s)" % (r.url, ", ".join(apps) or "none"),
          flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        r.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
