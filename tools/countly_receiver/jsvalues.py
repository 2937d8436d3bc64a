# jsvalues.py - JavaScript coercions and JSON text, so answers and parsing follow a Node server
#
# Countly is a Node application: it coerces params with String(), parseInt(), parseFloat() and
# JS truthiness, and answers with JSON.stringify output. The receiver copies those rules here
# so that a client that passes against it also passes against the real server.

import json
import math
import re
import urllib.parse

_INT_PREFIX = re.compile(r"\s*([+-]?\d+)")
_FLOAT_PREFIX = re.compile(r"\s*([+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))")
_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)\s*")
_NUMBER_EXP = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")
# Characters Node's legacy url.parse percent-escapes in the href before the server slices the
# query out of it; a client that sends them raw gets a checksum mismatch on a real server too.
_AUTO_ESCAPE = {c: "%{:02X}".format(ord(c)) for c in "\t\n\x0b\f\r \"'<>\\^`{|}"}


def js_truthy(v):
    # JS truthiness: "0" and [] are truthy; "", 0, NaN, null and false are not.
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


def js_parse_int(v):
    # parseInt(String(v), 10): the leading integer digits, or None for NaN.
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


def js_is_number(v):
    # common.isNumber: a finite number or a string that is entirely one.
    if isinstance(v, bool) or v is None:
        return False
    if isinstance(v, (int, float)):
        return math.isfinite(v)
    return isinstance(v, str) and bool(_NUMBER_EXP.fullmatch(v))


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
    # common.initTimeObj: 10-digit seconds or 13-digit ms; a future value is clamped to now
    # (compared in whole seconds, as the server does); any other form becomes the server time.
    f = js_parse_float(ts)
    if f is None or not math.isfinite(f) or not js_truthy(ts):
        return now_ms
    if isinstance(ts, str) and not _NUMBER.fullmatch(ts):
        return now_ms
    digits = len(str(abs(int(round(f)))))
    now_s = now_ms // 1000
    if digits == 10:
        return now_ms if int(f) > now_s else int(round(f * 1000))
    if digits == 13:
        return now_ms if int(f) // 1000 > now_s else int(f)
    return now_ms
