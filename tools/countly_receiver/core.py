# core.py - Receiver: the in-process Countly-compatible server. Routes each request the way the
# real server does (exact paths, query+body merge, validation order with byte-identical answers,
# checksum, dedup) and hands the data to ingest / sdk_endpoints; /_receiver/* and the page go to
# control. Used by the tests in-process and by the command line (tools/receiver.py).

import email.parser
import email.policy
import re
import secrets
import sys
import threading
import time

from . import control, faults, rules
from .answer import result
from .fixtures import Fixtures
from .ingest import Ingest
from .jsvalues import (js_len, js_str, js_truthy, json_text, node_autoescape, parse_json_param,
                       parse_query)
from .sdk_endpoints import WRITE_METHODS, SdkEndpoints
from .server import Limits, Server
from .store import Store, cap_params, cap_text

_WIDGET_PATHS = {"/o/surveys/nps/widget": "nps", "/o/surveys/survey/widget": "survey",
                 "/o/surveys/rating/widget": "rating", "/o/feedback/widget": "rating"}


def _now_ms():
    return int(time.time() * 1000)


class Ctx:
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
        self.notes = []

    def note(self, text):
        # Something the server drops quietly; kept on the request row for the developer.
        self.notes.append(text)


class Receiver:
    """In-process Countly receiver; see docs/receiver.md."""

    def __init__(self, apps=None, db_path=":memory:", fixtures=None, clock=None, verbose=False,
                 lite=False, token=None, log_requests=False, limits=None):
        self.clock = clock or _now_ms
        self.verbose = verbose
        self.lite = bool(lite)
        self.log_requests = log_requests
        self.token = token or secrets.token_urlsafe(18)
        self.limits = limits if isinstance(limits, Limits) else Limits(**(limits or {}))
        self.db_path = db_path
        self.store = Store(db_path)
        self._lock = self.store.lock
        self._apps = {}
        for key, cfg in (apps or {}).items():
            if isinstance(cfg, dict):
                self.set_app(key, cfg.get("salt"), bool(cfg.get("paused")))
            else:
                self.set_app(key, cfg)
        self.fixtures = Fixtures(fixtures)
        self.faults = faults.Faults()
        self.ingest = Ingest(self.store, self.lite)
        self.sdk = SdkEndpoints(self.store, self.fixtures, self.ingest, self.lite)
        self._stop = threading.Event()
        self._server = None
        self._thread = None
        self.port = None
        self.url = None
        self.counters = {"refused_connections": 0, "timed_out": 0, "idle_closed": 0}
        self._connections = 0
        self._requests = 0

    # -- public API -------------------------------------------------------------------------

    def start(self, host="127.0.0.1", port=0):
        self._stop.clear()
        self._server = Server((host, port), self)
        self.port = self._server.server_address[1]
        shown = "[%s]" % host if ":" in host else host
        self.url = "http://%s:%d" % (shown, self.port)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True,
                                        name="countly-receiver")
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.close_all()
            self._thread.join(5)
            self._server = None

    def __enter__(self):
        return self if self._server else self.start()

    def __exit__(self, *exc):
        self.stop()

    def set_app(self, key, salt=None, paused=False):
        with self._lock:
            self._apps[key] = {"salt": salt or "", "paused": bool(paused)}

    def apps(self):
        with self._lock:
            return {k: dict(v) for k, v in self._apps.items()}

    def inject(self, mode, count=None, fraction=None, retry_after=None, hang_s=None, seed=None,
               paths=None):
        self.faults.inject(mode, count, fraction, retry_after, hang_s, seed, paths)

    def set_fixtures(self, changes, app_key=None):
        # Replaces the given fixture keys (e.g. remote_config) from the next request on.
        self.fixtures.update(changes, app_key)

    def stats(self):
        with self._lock:
            return {"connections": self._connections, "requests": self._requests}

    def info(self):
        with self._lock:
            return {"apps": {k: {"salted": bool(v["salt"]), "paused": v["paused"]}
                             for k, v in self._apps.items()},
                    "lite": self.lite, "limits": self.limits.as_dict(),
                    "counters": dict(self.counters), "fault_modes": list(faults.MODES)}

    def rows(self, table, **filters):
        return self.store.rows(table, filters)

    def reset(self):
        with self._lock:
            self.store.reset()
            self._connections = 0
            self._requests = 0
            self.faults.clear()
            self.sdk.reset()

    def count(self, name, n=1):
        with self._lock:
            self.counters[name] = self.counters.get(name, 0) + n

    def log(self, *args):
        if self.verbose:
            print("[receiver]", *args, file=sys.stderr, flush=True)

    # -- HTTP-level dispatch (called by the server's handler threads) -------------------------

    def handle_http(self, method, raw_path, headers, body, peer=None):
        with self._lock:
            self._requests += 1
        path, _, query = raw_path.partition("?")
        if path.startswith("/_receiver") or (path == "/" and method == "GET"):
            ans = control.handle(self, method, path, query, headers, body)
            self._print(method, raw_path, ans, peer)
            return ans
        ctype = headers.get("Content-Type", "") or ""
        body_text = body.decode("utf-8", "replace")
        params = parse_query(query)
        form_data_url = None
        if method == "POST" and body:
            body_params, form_data_url = _parse_body(ctype, body, body_text)
            params.update(body_params)
        href = node_autoescape(raw_path)
        ctx = Ctx(method, path, href[len(node_autoescape(path)) + 1:] if "?" in href else "",
                  body_text if method == "POST" else "", ctype, params, form_data_url)
        fault = self.faults.take(path)
        with self._lock:
            ctx.request_id = self._log_request(ctx, path, query, len(body))
            if fault and fault["mode"] not in faults.STORES_DATA:
                ans = faults.answer(fault, headers.get("Host"), raw_path)
            else:
                try:
                    ans = self._route(ctx)
                except Exception as e:  # a receiver bug must not kill the connection silently
                    self.log("internal error", repr(e))
                    ans = result(500, "Internal receiver error: %s" % e)
            self._finish_request(ctx, ans, fault)
        if fault and fault["mode"] in faults.STORES_DATA:
            ans = faults.answer(dict(fault, mode="reset"), None, raw_path)
        ans.fault = fault["mode"] if fault else None
        self._print(method, raw_path, ans, peer)
        return ans

    def record_rejected(self, method, raw_path, headers, ans, peer=None):
        # Requests refused on framing (413, bad Content-Length) are still logged.
        path, _, query = raw_path.partition("?")
        with self._lock:
            self._requests += 1
            ctx = Ctx(method, path, query, "", headers.get("Content-Type", ""), {})
            size = headers.get("Content-Length")
            ctx.request_id = self._log_request(ctx, path, query,
                                               int(size) if (size or "").isdigit() else None)
            self._finish_request(ctx, ans)
        self._print(method, raw_path, ans, peer)

    def _print(self, method, raw_path, ans, peer):
        if not self.log_requests:
            return
        t = time.strftime("%H:%M:%S")
        shown = raw_path if len(raw_path) <= 160 else raw_path[:160] + "..."
        shown = re.sub(r"([?&]token=)[^&]*", r"\1***", shown)
        status = ans.status or "no answer"
        text = ans.text()[:120] if ans.ctype.startswith("application/json") else ans.ctype
        tail = " [fault %s]" % ans.fault if ans.fault else ""
        print("%s %s %s %s -> %s %s%s" % (t, peer or "-", method, shown, status, text, tail),
              flush=True)

    def _log_request(self, ctx, path, query, size, parent_id=None):
        cap = self.limits.max_stored_body
        p = ctx.params
        return self.store.insert(
            "requests", parent_id=parent_id, received_ms=self.clock(), method=ctx.method,
            path=path, query=cap_text(query, cap), body=cap_text(ctx.body, cap),
            content_type=ctx.ctype, params=cap_params(p, cap), body_size=size,
            app_key=cap_text(js_str(p["app_key"]), 1024) if "app_key" in p else None,
            device_id=cap_text(js_str(p["device_id"]), 1024) if "device_id" in p else None)

    def _finish_request(self, ctx, ans, fault=None):
        status = ans.status or None
        answer = cap_text(ans.text(), self.limits.max_stored_body) if status else None
        self.store.execute("UPDATE requests SET status=?, answer=?, fault=?, notes=? WHERE id=?",
                           (status, answer, fault["mode"] if fault else None,
                            json_text(ctx.notes) if ctx.notes else None, ctx.request_id))
        self.store.commit()

    # -- Countly routing ----------------------------------------------------------------------

    def _route(self, ctx):
        p = ctx.params
        # Global 400s: app_id / user_id must be 24 characters when present.
        for name in ("app_id", "user_id"):
            if name in p and js_truthy(p[name]) and js_len(p[name]) != 24:
                return result(400, 'Invalid parameter "%s"' % name)
        path = ctx.path
        if path == "/i":
            return self._write(ctx)
        if path == "/i/bulk":
            return self._bulk(ctx)
        if path in ("/o/sdk", "/i/sdk"):
            return self._fetch(ctx)
        if path == "/o/ping":
            return result(200, "Success")
        kind = _WIDGET_PATHS.get(path)
        if kind and not (self.lite and path.startswith("/o/surveys/")):
            ans = self.sdk.widget(ctx, kind)
            self.sdk.record(ctx, js_str(p.get("app_key")) if "app_key" in p else None,
                            js_str(p.get("device_id")) if "device_id" in p else None, ans,
                            self.clock())
            return ans
        return result(400, rules.MSG_INVALID_PATH)

    def _app_checks(self, ctx, write):
        # Steps 1-8 of the server's validation, shared by /i and /o/sdk.
        # -> (answer or None, app, key, device)
        p = ctx.params
        if not js_truthy(p.get("app_key")) or not js_truthy(p.get("device_id")):
            return result(400, rules.MSG_MISSING_KEY), None, None, None
        key, dev = js_str(p["app_key"]), js_str(p["device_id"])
        if dev == rules.ZERO_IDFA:
            return result(200, rules.MSG_IGNORING), None, key, dev
        app = self._apps.get(key)
        if app is None:
            return result(400, rules.MSG_NO_APP), None, key, dev
        if write and app["paused"]:
            return result(400, rules.MSG_PAUSED), app, key, dev
        if app["salt"]:
            if ctx.bulk:
                # Bulk items carry href "/i" without fullPath; the server cannot verify them,
                # so a salted app never accepts a bulk item.
                return result(200, rules.MSG_BAD_CHECKSUM), app, key, dev
            payloads = [ctx.query]
            if ctx.method == "POST":
                payloads.append(ctx.form_data_url if ctx.form_data_url is not None
                                else ctx.body)
            msg = rules.checksum_ok(p, payloads, app["salt"])
            if msg:
                return result(200, msg), app, key, dev
        return None, app, key, dev

    def _write(self, ctx):
        ans, app, key, dev = self._app_checks(ctx, write=True)
        if ans:
            return ans
        p = ctx.params
        now = self.clock()
        method = js_str(p.get("method", ""))
        if method in WRITE_METHODS and not ctx.bulk:
            # ab_enroll_variant / ab_opt_out on /i answer for themselves (ab-testing plugin).
            ans = self.sdk.fetch(ctx, app, key, dev, now)
            self.sdk.record(ctx, key, dev, ans, now)
            return ans
        # Dedup payload: the query of "/i?..." plus "&" + raw body for POST; bulk items use
        # "&" + the item's JSON.
        if ctx.bulk:
            payload = "&" + json_text(p)
        else:
            payload = ctx.query
            if ctx.method == "POST":
                payload += "&" + ctx.body
        req_hash = rules.dedup_hash(payload, p, now)
        row = self.store.device(key, dev)
        if row is not None and row["last_req"] == req_hash:
            return result(200, "Success", info=rules.MSG_DUPLICATE)
        old = p.get("old_device_id")
        if js_truthy(old) and js_str(old) != dev:
            if self.ingest.merge(ctx, key, js_str(old), dev, now):
                self.sdk.merge(key, js_str(old), dev)
        self.ingest.process(ctx, key, dev, now, req_hash)
        return result(200, "Success")

    def _bulk(self, ctx):
        reqs = ctx.params.get("requests")
        if not js_truthy(reqs):
            return result(400, 'Missing parameter "requests"')
        reqs = parse_json_param(reqs)
        if not isinstance(reqs, list):
            return result(400, 'Invalid parameter "requests"')
        top_key = ctx.params.get("app_key")
        for item in reqs:
            if not isinstance(item, dict) or not js_truthy(item.get("device_id")):
                ctx.note("bulk item without device_id skipped")
                continue
            if not js_truthy(item.get("app_key")) and not js_truthy(top_key):
                ctx.note("bulk item without app_key skipped")
                continue
            item = dict(item)
            item["app_key"] = item.get("app_key") if js_truthy(item.get("app_key")) else top_key
            sub = Ctx(ctx.method, "/i", "", "", "application/json", item, bulk=True)
            sub.request_id = self._log_request(sub, "/i", "", None, parent_id=ctx.request_id)
            try:
                ans = self._write(sub)
            except Exception as e:  # per-item errors are swallowed by the server
                self.log("bulk item error", repr(e))
                ans = result(400, "Cannot process: %s" % e)
            self._finish_request(sub, ans)
        return result(200, "Success")

    def _fetch(self, ctx):
        ans, app, key, dev = self._app_checks(ctx, write=False)
        now = self.clock()
        if not ans:
            ans = self.sdk.fetch(ctx, app, key, dev, now)
        self.sdk.record(ctx, key, dev, ans, now)
        return ans


def _parse_body(ctype, body, body_text):
    main = ctype.split(";")[0].strip().lower()
    if main == "application/json":
        obj = parse_json_param(body_text)
        return (obj if isinstance(obj, dict) else {}), None
    if main == "multipart/form-data":
        return _parse_multipart(ctype, body)
    # Form-encoded; also used when a client forgets the Content-Type header.
    return parse_query(body_text), None


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
    # The server's formDataUrl: fields joined as k=v& with decoded values.
    return fields, "&".join("%s=%s" % kv for kv in fields.items())
