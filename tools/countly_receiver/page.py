# page.py - the receiver's HTML page (/): what arrived, what was refused and why, per app and
# per device. Server-rendered; one small inline script turns epoch-ms times into the viewer's
# local time (new Date(ms).toLocaleString()), the UTC text stays when scripts are off.
#
# Query parameters: app=APP_KEY, device=DEVICE_ID (filters), refresh=seconds (0 = off).

import html
import secrets
import time
import urllib.parse

from .answer import HTML_TYPE, Answer
from .jsvalues import json_text

_LIMIT = 100
_SHORT = 300  # longest value shown in a cell; the read API has the full text
_STYLE = ("body{font-family:sans-serif;margin:1em}table{border-collapse:collapse;margin-bottom:"
          "1em}td,th{border:1px solid #ccc;padding:2px 6px;font-size:12px;max-width:40em;"
          "overflow-wrap:anywhere;vertical-align:top}th{background:#eee}tr.bad td{background:"
          "#fde8e8}pre{white-space:pre-wrap;margin:2px 0}.warn{color:#a40000}"
          "nav a{margin-right:1em}")
_SCRIPT = ("(function(){var t=document.querySelectorAll('time[data-ms]');"
           "for(var i=0;i<t.length;i++){var ms=Number(t[i].getAttribute('data-ms'));"
           "t[i].textContent=new Date(ms).toLocaleString();}})();")
# A request was refused or failed when it faulted, got no answer, a non-200, or one of the
# 200 answers that drop the data (checksum, ignored device id, duplicate).
_REJECTED = ("(fault IS NOT NULL OR status IS NULL OR status != 200 OR answer LIKE"
             " '{\"result\":\"Request does not%' OR answer LIKE '%\"info\":\"Request ignored%'"
             " OR answer = '{\"result\":\"Ignoring device_id\"}')")


def _esc(v):
    if v is None:
        return ""
    s = v if isinstance(v, str) else json_text(v)
    if len(s) > _SHORT:
        s = s[:_SHORT] + "..."
    return html.escape(s)


def _time(ms):
    if ms is None:
        return ""
    utc = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ms / 1000))
    return "<time data-ms='%d'>%s</time>" % (ms, utc)


def _col(name):
    return lambda r: _esc(r.get(name))


def _when(name):
    return lambda r: _time(r.get(name))


def _raw(r):
    # What the client sent, percent-decoded so it can be read; the read API has it verbatim.
    parts = [r.get("query"), r.get("body")]
    return _esc(" | ".join(urllib.parse.unquote(x) for x in parts if x))


def _crash_cell(r):
    parts = ["<details><summary>%s</summary><pre>%s</pre>" % (
        html.escape(r.get("name") or ""), html.escape(r.get("error") or ""))]
    if r.get("logs"):
        parts.append("<b>logs</b><pre>%s</pre>" % html.escape(r["logs"]))
    return "".join(parts) + "</details>"


def _warnings(name):
    def cell(r):
        w = r.get(name)
        return "<span class='warn'>%s</span>" % _esc("; ".join(w)) if w else ""
    return cell


def _table(title, rows, cols, bad=None):
    out = ["<h2>%s (%d)</h2><table><tr>" % (html.escape(title), len(rows))]
    out += ["<th>%s</th>" % html.escape(h) for h, _ in cols]
    out.append("</tr>")
    for r in rows:
        cls = " class='bad'" if bad and bad(r) else ""
        out.append("<tr%s>%s</tr>" % (cls, "".join("<td>%s</td>" % f(r) for _, f in cols)))
    return "".join(out) + "</table>"


def _rejected(store, filters, limit):
    where = [_REJECTED] + ["%s = ?" % k for k in filters]
    sql = ("SELECT id FROM requests WHERE %s ORDER BY id DESC LIMIT %d"
           % (" AND ".join(where), limit))
    with store.lock:
        ids = [r[0] for r in store.execute(sql, list(filters.values()))]
    rows = []
    for i in ids:
        rows += store.rows("requests", {"id": i})
    return rows


def _is_bad(r):
    answer = r.get("answer") or ""
    return (r.get("fault") is not None or r.get("status") != 200
            or answer.startswith('{"result":"Request does not')
            or '"info":"Request ignored' in answer or answer == '{"result":"Ignoring device_id"}')


def _filters_form(rcv, app, device, refresh):
    apps = sorted(set(rcv.apps()) | set(rcv.store.distinct("devices", "app_key")))
    # Refused requests have no device row, so their device ids come from the request log.
    where = {"app_key": app} if app else None
    devices = sorted(set(rcv.store.distinct("devices", "device_id", where))
                     | set(rcv.store.distinct("requests", "device_id", where)))[:500]

    def options(values, chosen, label):
        opts = ["<option value=''>%s</option>" % label]
        opts += ["<option value='%s'%s>%s</option>" % (html.escape(v, quote=True),
                                                      " selected" if v == chosen else "",
                                                      html.escape(v)) for v in values]
        return "".join(opts)

    return ("<form method='get' action='/'>app <select name='app'>%s</select> device "
            "<select name='device'>%s</select><input type='hidden' name='refresh' value='%d'>"
            " <button>filter</button> <a href='/'>all</a></form>"
            % (options(apps, app, "all apps"), options(devices, device, "all devices"),
               refresh))


def render(rcv, q):
    app = q.get("app") if isinstance(q.get("app"), str) and q.get("app") else None
    device = q.get("device") if isinstance(q.get("device"), str) and q.get("device") else None
    try:
        refresh = max(0, int(q.get("refresh", 5)))
    except (TypeError, ValueError):
        refresh = 5
    f = {}
    if app:
        f["app_key"] = app
    if device:
        f["device_id"] = device
    st = rcv.store

    def recent(table, limit=_LIMIT, filters=None):
        return st.rows(table, f if filters is None else filters, limit=limit, newest_first=True)

    req_cols = [("time", _when("received_ms")), ("method", _col("method")),
                ("path", _col("path")), ("app", _col("app_key")), ("device", _col("device_id")),
                ("status", _col("status")), ("answer", _col("answer")), ("fault", _col("fault")),
                ("notes", _col("notes")), ("query / body (decoded)", _raw)]
    sections = [
        _table("Rejected or failed requests", _rejected(st, f, 50), req_cols, bad=_is_bad),
        _table("Requests (newest first)", recent("requests"), req_cols, bad=_is_bad),
        _table("Devices", recent("devices", 200), [
            ("app", _col("app_key")), ("device", _col("device_id")),
            ("last seen", _when("last_seen_ms")), ("sessions", _col("session_count")),
            ("duration s", _col("total_duration_s")), ("sdk", _col("sdk_name")),
            ("metrics", _col("metrics")), ("location", lambda r: _esc(
                " ".join(str(r[k]) for k in ("country_code", "city", "lat", "lon")
                         if r.get(k) is not None))),
            ("profile", _col("profile")), ("consent", _col("consent"))]),
        _table("Crashes", recent("crashes", 50), [
            ("time", _when("timestamp")), ("device", _col("device_id")),
            ("crash (click for the stack trace)", _crash_cell), ("fatal", lambda r: (
                "no" if r.get("nonfatal") else "yes")), ("app version", _col("app_version")),
            ("os", _col("os")), ("warnings", _warnings("crash_warnings"))]),
        _table("Events (newest first)", recent("events"), [
            ("time", _when("timestamp")), ("device", _col("device_id")), ("key", _col("key")),
            ("count", _col("count")), ("sum", _col("sum")), ("dur", _col("dur")),
            ("segmentation", _col("segmentation")), ("warnings", _warnings("warnings"))]),
        _table("Sessions", recent("sessions", 50), [
            ("device", _col("device_id")), ("begin", _when("begin_ms")),
            ("end", _when("end_ms")), ("duration s", _col("duration_s")),
            ("open", _col("open")), ("extended", _col("extended"))]),
        _table("Health checks", recent("health_checks", 50), [
            ("time", _when("timestamp")), ("device", _col("device_id")),
            ("errors", _col("el")), ("warnings", _col("wl")), ("last status", _col("sc")),
            ("last error", _col("em")), ("hc", _col("hc"))]),
        _table("Feedback answers", recent("feedback", 50), [
            ("time", _when("timestamp")), ("device", _col("device_id")), ("type", _col("type")),
            ("widget", _col("widget_id")), ("rating", _col("rating")),
            ("comment", _col("comment")), ("closed", _col("closed")),
            ("answers", _col("answers"))]),
        _table("Remote config and other SDK fetches", recent("sdk_requests", 50), [
            ("time", _when("received_ms")), ("device", _col("device_id")),
            ("path", _col("path")), ("method", _col("method")), ("keys", _col("keys")),
            ("omit keys", _col("omit_keys")), ("status", _col("status")),
            ("answer", _col("answer"))], bad=lambda r: r.get("status") != 200),
    ]
    nonce = secrets.token_urlsafe(12)
    here = urllib.parse.urlencode([(k, v) for k, v in (("app", app), ("device", device)) if v])
    toggle = ("<a href='/?%s'>pause auto-refresh</a>" % html.escape(
        here + ("&" if here else "") + "refresh=0") if refresh
        else "<a href='/?%s'>auto-refresh every 5 s</a>" % html.escape(here))
    info = rcv.info()
    apps = ", ".join("%s%s" % (k, " (salted)" if v["salted"] else "")
                     for k, v in info["apps"].items()) or "none"
    head = ("<!doctype html><html><head><meta charset='utf-8'>%s<title>countly receiver"
            "</title><style>%s</style></head><body><h1>countly receiver</h1>"
            % ("<meta http-equiv='refresh' content='%d'>" % refresh if refresh else "", _STYLE))
    summary = ("<p>apps: %s%s | connections refused: %d | requests timed out: %d</p>"
               "<nav>%s</nav>%s" % (
                   html.escape(apps), " | Lite (Community Edition) mode" if info["lite"] else "",
                   info["counters"].get("refused_connections", 0),
                   info["counters"].get("timed_out", 0), toggle,
                   _filters_form(rcv, app, device, refresh)))
    body = (head + summary + "".join(sections)
            + "<script nonce='%s'>%s</script></body></html>" % (nonce, _SCRIPT))
    csp = ("default-src 'none'; script-src 'nonce-%s'; style-src 'unsafe-inline'; "
           "form-action 'self'; frame-ancestors 'none'; base-uri 'none'" % nonce)
    return Answer(200, body, ctype=HTML_TYPE, cors=False, headers=[
        ("Content-Security-Policy", csp), ("X-Frame-Options", "DENY"),
        ("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer")])
