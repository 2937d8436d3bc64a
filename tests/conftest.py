# conftest.py - pytest setup shared by the host and portable suites.
# Puts the core, the unix port, the tools and the test support on sys.path exactly as the
# MicroPython runner does, and starts one in-process receiver for tests that talk HTTP.

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for sub in ("lib", "ports/common", "ports/unix", "tools", "tests", "tests/support",
            "tests/portable"):
    p = os.path.join(ROOT, sub)
    if p not in sys.path:
        sys.path.insert(0, p)


@pytest.fixture(scope="session", autouse=True)
def _shared_receiver():
    # Portable tests find the receiver through COUNTLY_TEST_RECEIVER, the same way the
    # MicroPython runner hands it to them.
    from countly_receiver import Receiver

    r = Receiver(apps={"APPKEY": None, "SALTED": "s3cr3t"}, db_path=":memory:")
    r.start(host="127.0.0.1", port=0)
    os.environ["COUNTLY_TEST_RECEIVER"] = r.url
    os.environ["COUNTLY_TEST_RECEIVER_TOKEN"] = r.token
    yield r
    r.stop()
