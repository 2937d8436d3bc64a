# featkit.py - shared helpers for the feature tests (views, crashes, user, ...): a Countly on a
# FakePlatform with a ScriptedTransport, decoders for the requests it sent, and a Countly on the
# real local receiver. Runs on CPython and MicroPython.

import json
import os

from fakes import HTTP, FakePlatform, ScriptedTransport

from countly_mp.config import Config
from countly_mp.countly import Countly

URL = "http://127.0.0.1:9"


def make(answers=None, root=None, transport=None, **opts):
    # Config defaults unless the test is about an option (a fixed device ID keeps assertions
    # readable). transport: another fake server instead of a ScriptedTransport.
    t = transport or ScriptedTransport(answers)
    p = FakePlatform(root=root, transport=t)
    opts.setdefault("device_id", "dev1")
    ly = Countly(Config(URL, "APPKEY", **opts), platform=p)
    return ly, p, t


def sent(ly, t):
    # Flushes and returns the feature params of every request sent, as a list of dicts without
    # the base params (dict order does not matter for comparing).
    ly.flush()
    base = ("app_key", "timestamp", "hour", "dow", "tz", "sdk_name", "sdk_version", "rr")
    out = []
    for i in range(len(t.sent)):
        d = {}
        for k, v in t.params(i):
            if k not in base:
                d[k] = v
        out.append(d)
    return out


def events(reqs, key=None):
    # All events of the sent requests, in order, optionally only those with `key`.
    out = []
    for r in reqs:
        if "events" in r:
            for e in json.loads(r["events"]):
                if key is None or e["key"] == key:
                    out.append(e)
    return out


def only(reqs, name):
    return [r for r in reqs if name in r]


def uid(tag):
    return tag + "-" + "".join("%02x" % b for b in os.urandom(5))


def real(**opts):
    # A Countly talking HTTP to the local receiver (app APPKEY, no salt). The tests using it are
    # named test_00_receiver_* so that they run first in their module (the runners go in name
    # order), while the 128 KiB MicroPython heap is not yet holding other feature modules.
    import recv

    p = FakePlatform(transport=HTTP)
    opts.setdefault("device_id", uid("dev"))
    ly = Countly(Config(recv.url(), "APPKEY", **opts), platform=p)
    return ly, p


# ---- helpers shared by the feature tests (a test module importing another would load all of
# its tests into the 128 KiB heap) ----

def idle(ly, t=None, n=8):
    # Ticks until the SDK's own jobs are done (a periodic one may stay). -> the methods of
    # the side requests made so far (t given).
    for _ in range(n):
        ly.tick()
        if not ly.jobs or ly.jobs == ["sc@"]:
            break
    return t.side_methods() if t is not None else None


def ok(values):
    # A 200 answer with this JSON body.
    import json

    return 200, None, json.dumps(values).encode()


def lines_of(opts):
    # Adds a log listener to the Config options; -> the list it fills.
    lines = []
    opts["log_listener"] = lambda m, lv: lines.append(m)
    return lines
