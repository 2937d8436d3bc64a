# model.py - the rules of the model-based tests, shared by the hypothesis state machine
# (tests/host/test_model.py, CPython) and the seeded random walk (tests/portable/
# test_model_walk.py, both interpreters). A rule is a public call with arguments drawn from
# `draw`: draw(n) -> an int in [0, n). Every call that returns True is remembered as accepted;
# at the end the server must have received each accepted item exactly once, nothing may be left
# pending, and no internal error may have been logged.
#
# What counts as accepted: an event (record, or a timed event's end) whose call returned True;
# a view's start; a crash; user properties once save() returned True (set() only caches);
# location. Items are tagged with a unique id so the server side can count them. Consent is
# required and changes at random: a call refused for want of it is simply not accepted.

import json

from collect import Collector
from fakes import HTTP, FakePlatform, tmpdir

from countly_mp.config import Config
from countly_mp.consent import Consent
from countly_mp.countly import Countly

URL = "http://127.0.0.1:9"
FAULTS = ((500, None, b'{"result":"boom"}'), (429, 30, b'{"result":"slow down"}'),
          (400, None, b'{"result":"Could not ingest data"}'), (200, None, b"<html>proxy</html>"),
          (404, None, b"<html>Not Found</html>"), (400, None, b'{"result":"App is locked"}'),
          (200, None, b'{"result":"Success"}', "lost"))  # stored, answer lost: the last one


class Model:
    def __init__(self, draw, server=None, url=URL, rules=None):
        # server: the Collector (in-process fake, also the transport) by default, or any object
        # with the same `down`, `answers`, `events`, `items` and delivered_once() whose SDK
        # talks HTTP to `url` (tests/host/test_model.py: the local receiver).
        self.draw = draw
        self.url = url
        self.rules = rules or self.RULES
        self.real = server is not None
        self.server = server or Collector()
        if not self.real:
            self.server.keep("crash", "user_details", "city")
        self.root = tmpdir("model")
        self.platform = None
        self.lines = []
        self.ids = 0
        self.events = []  # ids of accepted events (views included)
        self.crashes = []
        self.props = []  # user property keys accepted by a save()
        self.cached = []  # user property keys set but not saved yet
        self.locations = []
        self.timed = {}  # key -> id it will carry
        self.consent_on = True
        self.boot()

    # ---- the device ----
    def boot(self):
        # A (re)start on the same storage; the clock goes on where it was.
        p = FakePlatform(root=self.root, transport=HTTP if self.real else self.server)
        if self.platform is not None:
            p.now, p.t = self.platform.now, self.platform.t
        self.platform = p
        self.cached = []  # the user cache is RAM: gone with the process
        self.timed = {}
        cfg = Config(self.url, "APPKEY", device_id="model-dev", require_consent=True,
                     consents=Consent.ALL, log_listener=self._log)
        self.ly = Countly(cfg, platform=p)

    def _log(self, line, level):
        if "internal error" in line:
            self.lines.append(line)

    def _id(self):
        self.ids += 1
        return self.ids

    def _text(self, limit):
        n = self.draw(limit) + 1
        return "abcdefghij"[self.draw(10)] * n

    # ---- rules ----
    def record_event(self):
        i = self._id()
        seg = {"id": i}
        for _ in range(self.draw(4) if self.draw(8) else self.draw(101)):
            seg[self._text(128)] = self._text(256) if self.draw(2) else self.draw(1000)
        if self.ly.events.record("e%d" % self.draw(5), count=1 + self.draw(3), segmentation=seg):
            self.events.append(i)

    def timed_event(self):
        key = "t%d" % self.draw(3)
        if key in self.timed:
            i = self.timed.pop(key)
            if self.ly.events.end(key, segmentation={"id": i}):
                self.events.append(i)
        elif self.ly.events.start(key):
            self.timed[key] = self._id()

    def view(self):
        i = self._id()
        # the view's name is its id: a start event per accepted start
        if self.ly.views.start("v%d" % i, {"id": i}):
            self.events.append(i)

    def crash(self):
        i = self._id()
        self.ly.crashes.add_breadcrumb(self._text(256))
        if self.ly.crashes.record_error("crash-%d" % i, "line\n" * self.draw(40)):
            self.crashes.append("crash-%d" % i)

    def user(self):
        if self.draw(3):
            key = "p%d" % self._id()
            if self.ly.user.set(key, self._text(256)):
                self.cached.append(key)
        elif self.ly.user.save():
            self.props += self.cached
            self.cached = []

    def location(self):
        city = "city-%d" % self._id()
        if self.ly.location.set(country_code="LV", city=city):
            self.locations.append(city)

    def device_id(self):
        new = "model-%d" % self._id()
        merge = bool(self.draw(2))
        saved = self.cached
        if self.ly.device_id.change(new, merge=merge) and saved:
            # a change saves the cached user changes first (under the old ID)
            self.props += saved
            self.cached = []

    def consent(self):
        # Consent comes and goes; whatever is refused meanwhile is simply not accepted.
        feature = Consent.ALL[self.draw(len(Consent.ALL))]
        if self.draw(2):
            self.ly.consent.remove(feature)
        else:
            self.ly.consent.give(feature)
        if feature == Consent.USERS:
            self.cached = []  # removing "users" drops the cache; giving it back starts empty

    def tick(self):
        self.platform.advance(1 + self.draw(120000))
        self.ly.tick()

    def server_state(self):
        s = self.server
        k = self.draw(4)
        s.down = k == 0
        if k == 1:
            s.answers = [FAULTS[self.draw(len(FAULTS))] for _ in range(1 + self.draw(4))]
        elif k >= 2:
            s.answers = []

    def restart(self):
        self.ly = None
        self.boot()

    def flush(self):
        self.ly.flush()

    RULES = ("record_event", "record_event", "record_event", "timed_event", "view", "crash",
             "user", "location", "device_id", "consent", "tick", "tick", "server_state",
             "restart", "flush")
    # The same rules in two halves around the delivery ones, for the MicroPython walk: a
    # 128 KiB process holds the SDK with half of the feature modules, not with all of them.
    EVENTS = ("record_event", "record_event", "timed_event", "view", "device_id", "tick",
              "tick", "server_state", "restart", "flush")
    PROFILE = ("record_event", "crash", "user", "location", "consent", "tick", "tick",
               "server_state", "restart", "flush")

    def step(self):
        getattr(self, self.rules[self.draw(len(self.rules))])()

    # ---- the invariant ----
    def settle(self):
        # The server comes back; time passes beyond any cooldown or pause; flush until empty.
        s = self.server
        s.down = False
        s.answers = []
        for _ in range(40):
            self.platform.advance(86400000)
            self.ly.tick()
            self.ly.flush()
            if self.ly.pending() == 0:
                break

    def check(self):
        s = self.server
        if self.real:
            s.read()
        assert self.ly.pending() == 0, "pending %d" % self.ly.pending()
        missing, twice = s.delivered_once(self.events)
        assert not missing and not twice, (missing, twice)
        crashes = [json.loads(v)["_name"] for k, v in s.items if k == "crash"]
        for c in self.crashes:
            assert crashes.count(c) == 1, (c, crashes)
        props = []
        cities = []
        for k, v in s.items:
            if k == "user_details":
                props += list(json.loads(v).get("custom", {}))
            elif k == "city":
                cities.append(v)
        for p in self.props:
            assert props.count(p) == 1, p
        assert sorted(props) == sorted(set(props))
        for c in self.locations:
            assert c in cities, c
        assert not self.lines, self.lines
