# bench.py - the delivery pipeline's figures in one run (`make bench`).
#
#   flash    erases per enqueued request and enqueue time at depth 1000 / depth 0, on real
#            LittleFS, under micropython and CPython (tools/bench_queue.py)
#   drain    1000 requests queued offline, then delivered to the local receiver: wall time and
#            TCP connections per request, on micropython (from .mpy) and CPython, beside the
#            official countly-sdk-nodejs 24.10.4 draining 1000 queued requests with its
#            default settings (one request per 500 ms heartbeat)
#   heap     on micropython: heap held after importing the core from .mpy, after init, at
#            most while recording 1000 events, and the smallest -X heapsize that completes
#
#   python tools/bench.py [--requests 1000] [--node-requests 1000] [--no-node]
#
# The Node SDK part takes about 500 ms per request (8+ minutes for 1000); --node-requests 100
# measures fewer and scales the time, which the report says.

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
sys.path[:0] = [os.path.join(ROOT, "tools")]

from build_mpy import build  # noqa: E402
from countly_receiver import Receiver  # noqa: E402

NODE_SDK = "countly-sdk-nodejs@24.10.4"


def arg(name, default):
    if name in sys.argv:
        return type(default)(sys.argv[sys.argv.index(name) + 1])
    return default


def micropython():
    exe = os.path.join(BIN, "micropython")
    return exe if os.path.exists(exe) else "micropython"


def flash():
    for cmd in ([micropython(), "tools/bench_queue.py"], [sys.executable, "tools/bench_queue.py"]):
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
        print(out.stdout.strip() or out.stderr.strip())


def device_run(url, n, heap=None):
    # One bench_device.py run; returns its JSON figures or None when it failed.
    store = tempfile.mkdtemp(prefix="countly_bench_")
    env = dict(os.environ, COUNTLY_URL=url)
    if heap:
        mpy = build()[0]
        env["MICROPYPATH"] = "%s:%s/ports/unix" % (mpy, mpy)
        cmd = [micropython(), "-X", "heapsize=" + heap, "tools/bench_device.py", str(n), store]
    else:
        env["PYTHONPATH"] = ":".join(os.path.join(ROOT, p)
                                     for p in ("lib", "ports/common", "ports/unix"))
        cmd = [sys.executable, "tools/bench_device.py", str(n), store]
    try:
        out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=600)
        line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
        result = json.loads(line) if line.startswith("{") else None
        if result is not None and result["delivered"] != n:
            result = None
        return result
    finally:
        shutil.rmtree(store, ignore_errors=True)


def node_modules():
    cache = os.path.join(ROOT, ".cache", "node-sdk", NODE_SDK, "node_modules")
    if os.path.isdir(os.path.join(cache, "countly-sdk-nodejs")):
        return cache
    if not shutil.which("npm"):
        return None
    tmp = tempfile.mkdtemp(prefix="node_sdk_")
    r = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", tmp, NODE_SDK],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        return None
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    shutil.move(os.path.join(tmp, "node_modules"), cache)
    return cache


_NODE_SCRIPT = r"""
// Queue N requests in the official Node SDK, then let it drain them with its defaults.
const Countly = require("countly-sdk-nodejs");
const n = parseInt(process.env.N);
Countly.init({app_key: "BENCH", url: process.env.URL, device_id: "bench-node",
              storage_path: process.env.STORE});
for (let i = 0; i < n; i++) {
  Countly.request({app_key: "BENCH", device_id: "bench-node",
                   events: JSON.stringify([{key: "reading", count: 1, sum: i,
                                            segmentation: {i: i, sensor: "t1"}}])});
}
"""


def node_drain(receiver, n):
    mods = node_modules()
    if mods is None or not shutil.which("node"):
        return None
    store = tempfile.mkdtemp(prefix="node_store_")
    script = os.path.join(store, "drain.js")
    with open(script, "w") as f:
        f.write(_NODE_SCRIPT)
    before = receiver.stats()
    env = dict(os.environ, NODE_PATH=mods, N=str(n), URL=receiver.url, STORE=store)
    t0 = time.time()
    proc = subprocess.Popen(["node", script], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        while receiver.stats()["requests"] - before["requests"] < n:
            if time.time() - t0 > 1200 or proc.poll() is not None:
                return None
            time.sleep(0.05)
        wall = time.time() - t0
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(store, ignore_errors=True)
    after = receiver.stats()
    return {"drain_ms": int(wall * 1000),
            "connections": after["connections"] - before["connections"]}


def smallest_heap(url, n):
    for heap in ("128k", "112k", "96k", "80k", "64k", "48k"):
        if device_run(url, n, heap) is None:
            return heap
    return None


def main():
    n = arg("--requests", 1000)
    node_n = arg("--node-requests", n)
    print("== flash (real LittleFS, 4 KiB blocks)")
    flash()
    receiver = Receiver(apps={"BENCH": None}, db_path=":memory:")
    receiver.start(host="127.0.0.1", port=0)
    try:
        print("\n== drain %d queued requests to the local receiver" % n)
        rows = []
        for label, heap in (("micropython 128k (.mpy)", "128k"), ("cpython", None)):
            r = device_run(receiver.url, n, heap)
            if r is None:
                print("%-26s failed" % label)
                continue
            rows.append((label, r["drain_ms"], r["connections"]))
            if heap:
                mp = r
        node = None if "--no-node" in sys.argv else node_drain(receiver, node_n)
        for label, ms, conns in rows:
            print("%-26s %8d ms  %.3f TCP connections/request" % (label, ms, conns / n))
        if node:
            scaled = node["drain_ms"] * n // node_n
            note = "" if node_n == n else "  (measured on %d, scaled)" % node_n
            print("%-26s %8d ms  %.3f TCP connections/request%s"
                  % ("countly-sdk-nodejs 24.10.4", scaled, node["connections"] / node_n, note))
            for label, ms, _ in rows:
                print("speed-up of %s over the Node SDK: %.0fx" % (label, scaled / max(ms, 1)))
        else:
            print("countly-sdk-nodejs: not measured (node/npm missing or --no-node)")
        print("\n== micropython heap (core imported from .mpy)")
        if rows and rows[0][0].startswith("micropython"):
            print("held after import:             %6d B" % mp["import_bytes"])
            print("held after init:               %6d B" % mp["init_bytes"])
            print("held at most over %d events: %6d B" % (n, mp["held_max_bytes"]))
        failed_at = smallest_heap(receiver.url, n)
        print("first -X heapsize that fails the %d-event run: %s" % (n, failed_at or "none"))
    finally:
        receiver.stop()


if __name__ == "__main__":
    main()
