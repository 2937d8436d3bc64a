# test_model.py - model-based test: a hypothesis state machine drives random sequences of the
# public calls (tests/support/model.py) through restarts, consent changes, device ID changes,
# clock jumps and a server that is down or answers with faults, and checks that everything the
# SDK accepted reached the server exactly once, nothing is left pending and no internal error
# was logged. 200 examples of 50 steps per run.

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule
from model import Model


class Delivery(RuleBasedStateMachine):
    @initialize(data=st.data())
    def start(self, data):
        self.data = data
        self.model = Model(self._draw)

    def _draw(self, n):
        return self.data.draw(st.integers(0, n - 1)) if n > 1 else 0

    @rule(data=st.data(), which=st.integers(0, len(Model.RULES) - 1))
    def step(self, data, which):
        self.data = data
        getattr(self.model, Model.RULES[which])()

    def teardown(self):
        if hasattr(self, "model"):
            self.model.settle()
            self.model.check()


Delivery.TestCase.settings = settings(
    max_examples=200, stateful_step_count=50, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
test_everything_accepted_is_delivered_exactly_once = Delivery.TestCase
