# control.py - the receiver's own HTTP API (/_receiver/*) and the page (/), with the checks
# that keep them private on a developer's machine.
#
# Reads:   GET /_receiver/<table>?column=value&_limit=N&_after=ID, /_receiver/stats, /info
# Control: POST /_receiver/reset | fault | app | fixtures, JSON body, and the token printed at
#          start in an X-Receiver-Token header or a token= query parameter.
#
# Why this is enough against a web page the developer happens to visit:
#   - no Access-Control-Allow-Origin on these paths, and every CORS preflight is refused, so no
#     other origin can read an answer or send a JSON body;
#   - a request whose Origin is not the receiver itself, or whose Sec-Fetch-Site says
#     cross-site / same-site, is refused (only a plain navigation may open the page);
#   - the Host header must be an IP address or localhost, which defeats DNS rebinding (a
#     rebound name arrives with its own Host);
#   - changes also need the token: a form post or a no-cors fetch cannot send application/json
#     with the right token.

import hmac
import ipaddress
import json

from . import page
from .answer import Answer, result
from .jsvalues import json_text, parse_query
from .store import TABLES

_PRIVATE_HEADERS = [("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff")]
_READ_OPTIONS = ("_limit", "_after", "_newest", "token")


def _private(ans):
    ans.cors = False
    ans.headers.extend(_PRIVATE_HEADERS)
    return ans


def _json(obj, status=200):
    return _private(Answer(status, json_text(obj)))


def _refuse(status, message):
    return _private(result(status, message))


def host_allowed(host):
    # An IP literal (any, for boards on the LAN) or localhost; never a DNS name, which a
    # rebinding attack could point at this machine.
    if not host:
        return True  # not a browser: browsers always send Host
    name = host.strip()
    if name.startswith("["):
        name = name[1:name.find("]")] if "]" in name else name[1:]
    elif name.count(":") == 1:
        name = name.split(":")[0]
    name = name.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


def browser_refusal(headers, navigation_ok):
    if not host_allowed(headers.get("Host")):
        return _refuse(403, "Host not allowed: open the receiver by IP address or localhost")
    origin = headers.get("Origin")
    if origin is not None and origin != "http://%s" % headers.get("Host", ""):
        return _refuse(403, "Cross-origin requests to the receiver are refused")
    site = (headers.get("Sec-Fetch-Site") or "").lower()
    if site in ("cross-site", "same-site"):
        mode = (headers.get("Sec-Fetch-Mode") or "").lower()
        dest = (headers.get("Sec-Fetch-Dest") or "").lower()
        if not (navigation_ok and mode == "navigate" and dest == "document"):
            return _refuse(403, "Cross-site requests to the receiver are refused")
    return None


def token_ok(rcv, headers, query):
    sent = headers.get("X-Receiver-Token")
    if sent is None:
        sent = parse_query(query).get("token")
    return isinstance(sent, str) and hmac.compare_digest(sent.encode(), rcv.token.encode())


def handle(rcv, method, path, query, headers, body):
    if path == "/":
        refusal = browser_refusal(headers, navigation_ok=True)
        return refusal or page.render(rcv, parse_query(query))
    refusal = browser_refusal(headers, navigation_ok=False)
    if refusal:
        return refusal
    name = path[len("/_receiver/"):] if path.startswith("/_receiver/") else ""
    try:
        if method == "GET":
            return _read(rcv, name, query)
        if name not in ("reset", "fault", "app", "fixtures"):
            return _refuse(404, "Unknown receiver endpoint")
        ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            return _refuse(415, "Content-Type must be application/json")
        if not token_ok(rcv, headers, query):
            return _refuse(403, "Missing or wrong receiver token")
        return _control(rcv, name, body)
    except (ValueError, TypeError) as e:
        return _refuse(400, str(e))


def _read(rcv, name, query):
    if name == "stats":
        return _json(rcv.stats())
    if name == "info":
        return _json(rcv.info())
    if name not in TABLES:
        return _refuse(404, "Unknown receiver endpoint")
    q = parse_query(query)
    filters = {k: v if isinstance(v, str) else v[-1] for k, v in q.items()
               if k not in _READ_OPTIONS}
    limit = int(q["_limit"]) if "_limit" in q else None
    after = int(q["_after"]) if "_after" in q else None
    newest = q.get("_newest") in ("1", "true")
    return _json(rcv.store.rows(name, filters, limit=limit, after=after, newest_first=newest))


def _control(rcv, name, body):
    cfg = json.loads(body.decode("utf-8") or "{}")
    if not isinstance(cfg, dict):
        raise ValueError("JSON object expected")
    if name == "reset":
        rcv.reset()
    elif name == "fault":
        rcv.inject(cfg.get("mode"), cfg.get("count"), cfg.get("fraction"),
                   cfg.get("retry_after"), cfg.get("hang_s"), cfg.get("seed"),
                   cfg.get("paths"))
    elif name == "app":
        if not cfg.get("key") or not isinstance(cfg["key"], str):
            raise ValueError("key is required")
        rcv.set_app(cfg["key"], cfg.get("salt"), bool(cfg.get("paused")))
    else:
        app_key = cfg.pop("app_key", None)
        rcv.set_fixtures(cfg, app_key)
    return _private(result(200, "Success"))
