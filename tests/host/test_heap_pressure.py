# test_heap_pressure.py - a 1000-reading app under tight MicroPython heaps (64-bit binary, .mpy
# build): at 96k, 104k and 112k it either delivers every reading, or says loudly (a printed
# line) what it could not accept; whatever it accepted reaches the receiver exactly once.

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


@pytest.mark.parametrize("heap", ["96k", "104k", "112k"])
def test_thousand_readings_under_a_tight_heap(heap, mpy):
    r = Receiver(apps={"APPKEY": None}, db_path=":memory:")
    r.start(host="127.0.0.1", port=0)
    try:
        env = dict(os.environ, MICROPYPATH="%s:%s/ports/unix" % (mpy, mpy))
        exe = os.path.join(os.path.dirname(sys.executable), "micropython")
        store = tempfile.mkdtemp(prefix="countly_heap_")
        out = subprocess.run([exe, "-X", "heapsize=" + heap,
                              os.path.join(ROOT, "tests", "support", "app_events.py"), str(N),
                              store, r.url], env=env, capture_output=True, text=True,
                             timeout=300)
        lines = out.stdout.splitlines()
        accepted = {int(x[2:]) for x in lines if x.startswith("A ")}
        loud = [x for x in lines if x.startswith("[Error]")]
        stored = {}
        for row in r.rows("events"):
            if row["key"] == "reading":
                i = row["segmentation"]["id"]
                stored[i] = stored.get(i, 0) + 1
        print("heap %s: %d accepted, %d stored, %d error lines"
              % (heap, len(accepted), len(stored), len(loud)))
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        assert all(stored.get(i) == 1 for i in accepted), "accepted but not stored once"
        assert [i for i in stored if stored[i] > 1] == []
        if len(accepted) < N:
            assert loud, "readings refused without a printed line"
    finally:
        r.stop()
