# test_model_walk.py - the model-based test as a seeded random walk (tests/support/model.py), so
# it runs on MicroPython too, where hypothesis does not: random sequences of the public calls
# through restarts, consent and device ID changes, clock jumps and a faulty server; everything
# accepted must reach the server exactly once. Each walk is replayable from its seed.

from model import Model
from xorshift import XorShift

STEPS = 50
WALKS = 4  # per test function; several functions keep each MicroPython process short


def _walks(first_seed):
    for seed in range(first_seed, first_seed + WALKS):
        rng = XorShift(seed * 7919 + 1)
        m = Model(rng.below)
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


def test_walks_1():
    _walks(1)


def test_walks_2():
    _walks(101)


def test_walks_3():
    _walks(201)


def test_walks_4():
    _walks(301)


def test_walks_5():
    _walks(401)
