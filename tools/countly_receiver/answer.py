# answer.py - one HTTP answer of the receiver and the helpers that build Countly-shaped ones

from .jsvalues import json_text

JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"


class Answer:
    # status 0 with an `action` means "no answer": the connection is hung or reset (faults).
    # `cors` is True for Countly paths only: the real server sends Access-Control-Allow-Origin: *
    # there, and the receiver's own pages must not be readable from other origins.
    __slots__ = ("status", "body", "ctype", "headers", "action", "cors", "fault")

    def __init__(self, status, body, ctype=JSON_TYPE, headers=None, action=None, cors=True):
        self.status = status
        self.body = body if isinstance(body, bytes) else body.encode("utf-8")
        self.ctype = ctype
        self.headers = headers or []
        self.action = action
        self.cors = cors
        self.fault = None

    def text(self):
        return self.body.decode("utf-8", "replace")


def result(status, message, **extra):
    # Countly's returnMessage: {"result": message} plus optional fields, e.g. "info".
    obj = {"result": message}
    obj.update(extra)
    return Answer(status, json_text(obj))


def bare(obj, status=200):
    # returnOutput: rc values, sc config and widget documents are sent without a wrapper.
    return Answer(status, json_text(obj))
