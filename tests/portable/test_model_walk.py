# test_model_walk.py - the model-based test as a seeded random walk (tests/support/model.py), so
# it runs on MicroPython too, where hypothesis does not: random sequences of the public calls
# through restarts, consent and device ID changes, clock jumps and a faulty server; everything
# accepted must reach the server exactly once. Each walk is replayable from its seed. The rules
# come in two halves (events and views; crashes, user, location, consent), both with the
# delivery rules, so that each MicroPython process fits its 128 KiB heap; the hypothesis
# version on CPython (tests/host/test_model.py) mixes all of them.

from fakes import FakePlatform
from model import Model
from xorshift import XorShift

STEPS = 50
WALKS = 2  # per test function: many short processes, each starting from a fresh heap


def _walks(first_seed, rules):
    for seed in range(first_seed, first_seed + WALKS):
        rng = XorShift(seed * 7919 + 1)
        m = Model(rng.below, rules=rules)
        for _ in range(STEPS):
            m.step()
        m.settle()
        try:
            m.check()
        except AssertionError as e:
            raise AssertionError("walk seed %d: %s" % (seed, e))
        s = m.server
        print("walk %d: %d events, %d crashes, %d properties accepted; %d requests, %d resends"
              % (seed, len(m.events), len(m.crashes), len(m.props), s.requests, s.duplicates))


def test_walks_events_1():
    _walks(1, Model.EVENTS)


def test_walks_events_2():
    _walks(101, Model.EVENTS)


def test_walks_events_3():
    _walks(201, Model.EVENTS)


def test_walks_events_4():
    _walks(301, Model.EVENTS)


def test_walks_events_5():
    _walks(401, Model.EVENTS)


def test_walks_events_6():
    _walks(501, Model.EVENTS)


def test_walks_profile_1():
    _walks(601, Model.PROFILE)


def test_walks_profile_2():
    _walks(701, Model.PROFILE)


def test_walks_profile_3():
    _walks(801, Model.PROFILE)


def test_walks_profile_4():
    _walks(901, Model.PROFILE)


def test_walks_profile_5():
    _walks(1001, Model.PROFILE)


def test_walks_profile_6():
    _walks(1101, Model.PROFILE)


def _on_the_ring(first_seed, rules):
    # The same walks with both queues on the raw-flash ring (NOR rules) instead of files.
    FakePlatform.queue = "ring"
    try:
        _walks(first_seed, rules)
    finally:
        FakePlatform.queue = None


def test_walks_events_on_the_ring():
    _on_the_ring(1001, Model.EVENTS)


def test_walks_profile_on_the_ring():
    _on_the_ring(1601, Model.PROFILE)
