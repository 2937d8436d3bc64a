# test_heap_pressure.py - a 1000-reading app under tight MicroPython heaps (64-bit binary, .mpy
# build). At 128k it delivers every reading. Below (96k to 120k: after init the
# process holds about 98K, sending about 13K more) it says loudly (a printed line) what it
# could not accept or send; whatever it accepted is on flash and reaches the receiver exactly
# once, at the latest on the next boot with the memory to send it.

import os
import subprocess
import sys
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from build_mpy import build  # noqa: E402
from countly_receiver import Receiver  # noqa: E402

N = 1000


@pytest.fixture(scope="module")
def mpy(tmp_path_factory):
    return build(str(tmp_path_factory.mktemp("mpy")))[0]


def _stored(r):
    stored = {}
    for row in r.rows("events"):
        if row["key"] == "reading":
            i = row["segmentation"]["id"]
            stored[i] = stored.get(i, 0) + 1
    return stored


def _run(exe, env, heap, n, store, url):
    return subprocess.run([exe, "-X", "heapsize=" + heap,
                           os.path.join(ROOT, "tests", "support", "app_events.py"), str(n),
                           store, url], env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("heap", ["96k", "104k", "112k", "120k", "128k"])
def test_thousand_readings_under_a_tight_heap(heap, mpy):
    r = Receiver(apps={"APPKEY": None}, db_path=":memory:")
    r.start(host="127.0.0.1", port=0)
    try:
        env = dict(os.environ, MICROPYPATH="%s:%s/ports/unix" % (mpy, mpy))
        exe = os.path.join(os.path.dirname(sys.executable), "micropython")
        store = tempfile.mkdtemp(prefix="countly_heap_")
        out = _run(exe, env, heap, N, store, r.url)
        lines = out.stdout.splitlines()
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        full = heap == "128k"
        accepted = {int(x[2:]) for x in lines if x.startswith("A ")}
        loud = [x for x in lines if x.startswith("[Error]")]
        sent = len(_stored(r))
        if not full:   # the next boot, with room to send
            after = _run(exe, env, "256k", 0, store, r.url)
            assert after.returncode == 0, after.stdout[-2000:] + after.stderr[-2000:]
        stored = _stored(r)
        print("heap %s: %d accepted, %d sent, %d stored after the next boot, %d error lines"
              % (heap, len(accepted), sent, len(stored), len(loud)))
        if sent < len(accepted):
            assert loud, "accepted readings left unsent without a printed line"
        assert all(stored.get(i) == 1 for i in accepted), "accepted but not stored once"
        assert [i for i in stored if stored[i] > 1] == []
        if full:
            assert len(accepted) == N and len(stored) == N
        elif len(accepted) < N:
            assert loud, "readings refused without a printed line"
    finally:
        r.stop()
