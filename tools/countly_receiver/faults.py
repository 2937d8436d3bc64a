# faults.py - injected failures: what a real Countly server, a proxy in front of it or a broken
# network answers when things go wrong, for N requests or a seeded fraction of them.
#
# A faulted request is logged in the requests table (column `fault`) but its data is NOT
# stored: it answered failure, and the client must send it again. The one exception is
# "lost_answer", which models a server that stored the request and whose answer never arrived:
# the data is stored, then the connection is reset.

import random
import threading

from .answer import HTML_TYPE, Answer, result

# The transient 400s a real server gives on database trouble; they mean "try again".
_TRANSIENT_400 = {
    "400_ingest": "Could not ingest data",
    "400_app_user": "Cannot get app user",
    "400_update_user": "Cannot update user",
    "400_record_events": "Could not record events:MongoError: connection closed (simulated)",
    "400_uid": "Cannot create uid",
}
# Not Countly at all: a web server or proxy at the wrong URL, or a login in front of it.
_HTML_STATUS = {
    "401": (401, "Unauthorized"),
    "403": (403, "Forbidden"),
    "404": (404, "Not Found"),
    "405": (405, "Not Allowed"),
}
MODES = (("500", "429", "hang", "reset", "nonjson", "portal", "301", "302", "lost_answer")
         + tuple(_TRANSIENT_400) + tuple(_HTML_STATUS))
# Paths a fault applies to unless the injection names others.
DEFAULT_PATHS = ("/i", "/i/bulk", "/i/sdk", "/o/sdk")
STORES_DATA = ("lost_answer",)

_PORTAL = ("<!doctype html><html><head><title>Wi-Fi login</title></head><body>"
           "<h1>Welcome to Guest Wi-Fi</h1><form method='post' action='/login'>"
           "<input name='room'><button>Connect</button></form></body></html>")


def _nginx_page(status, reason):
    return ("<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d %s</h1>"
            "</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
            % (status, reason, status, reason))


class Faults:
    def __init__(self):
        self._lock = threading.Lock()
        self._fault = None

    def inject(self, mode, count=None, fraction=None, retry_after=None, hang_s=None, seed=None,
               paths=None):
        # count=None: no limit; fraction=None: every request on the paths fails.
        if mode is not None and mode not in MODES:
            raise ValueError("unknown fault mode %r (known: %s)" % (mode, ", ".join(MODES)))
        if fraction is not None and not 0 <= float(fraction) <= 1:
            raise ValueError("fraction must be between 0 and 1")
        if paths is not None and (not isinstance(paths, (list, tuple))
                                  or not all(isinstance(x, str) for x in paths)):
            raise ValueError("paths must be a list of paths")
        with self._lock:
            if mode is None:
                self._fault = None
                return
            self._fault = {"mode": mode, "count": None if count is None else int(count),
                           "fraction": None if fraction is None else float(fraction),
                           "retry_after": 1 if retry_after is None else int(retry_after),
                           "hang_s": 3.0 if hang_s is None else float(hang_s),
                           "paths": tuple(paths) if paths is not None else DEFAULT_PATHS,
                           "rng": random.Random(seed)}

    def clear(self):
        self.inject(None)

    def take(self, path):
        # Decides whether this request gets the fault; -> a copy of it or None.
        with self._lock:
            f = self._fault
            if f is None or path not in f["paths"]:
                return None
            if f["count"] is not None:
                if f["count"] <= 0:
                    self._fault = None
                    return None
                f["count"] -= 1
            if f["fraction"] is not None and f["rng"].random() >= f["fraction"]:
                return None
            return dict(f)


def answer(f, host, raw_path):
    # The answer a fault gives; status 0 with an action for hang / reset / lost_answer.
    mode = f["mode"]
    if mode == "500":
        return result(500, "Internal error (simulated)")
    if mode == "429":
        a = result(429, "Too many requests (simulated)")
        a.headers.append(("Retry-After", str(f["retry_after"])))
        return a
    if mode in _TRANSIENT_400:
        return result(400, _TRANSIENT_400[mode])
    if mode == "nonjson":
        return Answer(200, "<html>ok</html>", ctype=HTML_TYPE, cors=False)
    if mode == "portal":
        return Answer(200, _PORTAL, ctype=HTML_TYPE, cors=False)
    if mode in _HTML_STATUS:
        status, reason = _HTML_STATUS[mode]
        a = Answer(status, _nginx_page(status, reason), ctype=HTML_TYPE, cors=False)
        if status == 401:
            a.headers.append(("WWW-Authenticate", 'Basic realm="countly"'))
        return a
    if mode in ("301", "302"):
        status = int(mode)
        reason = "Moved Permanently" if status == 301 else "Moved Temporarily"
        a = Answer(status, _nginx_page(status, reason), ctype=HTML_TYPE, cors=False)
        a.headers.append(("Location", "https://%s%s" % (host or "127.0.0.1", raw_path)))
        return a
    return Answer(0, b"", action=(mode, f["hang_s"]))
