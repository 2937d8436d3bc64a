# test_model.py - model-based test against the local receiver over real HTTP: a hypothesis
# state machine drives random sequences of the public calls (tests/support/model.py) through
# restarts, consent changes, device ID changes, clock jumps and a receiver that is unreachable
# or answers with the faults a real server, a proxy or a captive portal gives (including a
# stored request whose answer is lost), and checks that everything the SDK accepted is stored
# exactly once, nothing is left pending and no internal error was logged. 200 examples of 50
# steps per run. (tests/portable/test_model_walk.py runs the same rules on MicroPython.)

import json

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule
import fakes
from fakes import FakePlatform
from model import FAULTS, Model

from countly_receiver import Receiver

# The receiver's fault mode for each scripted answer of the model, and "down".
_MODES = {500: "500", 429: "429", 404: "404", 200: "portal"}


class ReceiverServer:
    # The model's view of the receiver: faults set through its API, deliveries read from its
    # tables at the end (a request it dropped as a byte-identical duplicate stores nothing).
    def __init__(self):
        self.r = Receiver(apps={"APPKEY": None}, db_path=":memory:")
        self.r.start(host="127.0.0.1", port=0)
        self.url = self.r.url
        self._down = False
        self.answers = []
        self.events = {}
        self.items = []

    @property
    def down(self):
        return self._down

    @down.setter
    def down(self, value):
        self._down = value
        self._apply()

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)
        if name == "answers" and "r" in self.__dict__:
            self._apply()

    def _apply(self):
        if self._down:
            self.r.inject("reset")
        elif self.answers:
            a = self.answers[0]
            mode = "lost_answer" if a == FAULTS[-1] else _MODES.get(a[0], "400_ingest")
            self.r.inject(mode, count=len(self.answers))
        else:
            self.r.inject(None)

    def read(self):
        for row in self.r.rows("events"):
            seg = row["segmentation"] or {}
            eid = seg.get("id", row["key"])
            if row["key"] == "[CLY]_view" and "visit" not in seg:
                eid = "end:%s" % eid
            self.events[eid] = self.events.get(eid, 0) + 1
        for row in self.r.rows("crashes"):
            self.items.append(("crash", json.dumps({"_name": row["name"]})))
        for row in self.r.rows("location"):
            self.items.append(("city", row["city"]))
        for row in self.r.rows("requests"):
            p = row["params"] or {}
            if "user_details" in p and not row["fault"] and row["status"] == 200 \
                    and "Duplicate" not in (row["answer"] or ""):
                self.items.append(("user_details", p["user_details"]))

    def delivered_once(self, ids):
        missing = [i for i in ids if i not in self.events]
        twice = [i for i in self.events if self.events[i] > 1]
        return missing, twice

    def close(self):
        self.r.stop()


class Delivery(RuleBasedStateMachine):
    @initialize(data=st.data())
    def start(self, data):
        self.data = data
        self.server = ReceiverServer()
        self.model = Model(self._draw, self.server, self.server.url)

    def _draw(self, n):
        return self.data.draw(st.integers(0, n - 1)) if n > 1 else 0

    @rule(data=st.data(), which=st.integers(0, len(Model.RULES) - 1))
    def step(self, data, which):
        self.data = data
        getattr(self.model, Model.RULES[which])()

    def teardown(self):
        if hasattr(self, "model"):
            try:
                self.model.settle()
                self.model.check()
            finally:
                self.server.close()


Delivery.TestCase.settings = settings(
    max_examples=200, stateful_step_count=50, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
test_everything_accepted_is_stored_exactly_once = Delivery.TestCase


class DeliveryOnTheRing(Delivery):
    # The same machine with both queues on the raw-flash ring (NOR rules) instead of files.
    def __init__(self):
        FakePlatform.queue = "ring"
        super().__init__()

    def teardown(self):
        try:
            super().teardown()
        finally:
            FakePlatform.queue = None
            fakes._RINGS.clear()   # 3 MiB of RAM flash per example otherwise


DeliveryOnTheRing.TestCase.settings = settings(
    max_examples=60, stateful_step_count=50, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
test_everything_accepted_is_stored_exactly_once_on_the_ring = DeliveryOnTheRing.TestCase
