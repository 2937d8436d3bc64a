# bench.py - the figures of the README in one run (`make bench`), each min / median / max of
# 3 runs (ratios taken within one run), on the unix micropython binary (64-bit) and CPython:
#
#   queue    FsQueue on real LittleFS and RingQueue on a raw-flash ring: enqueue time at depth
#            1000 and 5000 against depth 0, flash erases per append / per request
#            (tools/bench_queue.py, tools/bench_ring.py)
#   record   ly.events.record() with the default Config against json.dumps + append to the
#            same kind of queue, and erases per recorded event (tools/bench_record.py)
#   drain    N requests queued offline, then delivered to the local receiver, against a bare
#            keep-alive client sending N requests of the same shape (tools/bench_device.py)
#   heap     on micropython: heap held after importing the core from .mpy, after init, at
#            most while recording N events
#   node     with --node: the official countly-sdk-nodejs 24.10.4 draining N queued requests
#            with its defaults (one request per heartbeat: about 8 minutes for 1000)
#
#   python tools/bench.py [--requests 1000] [--node [--node-requests 100]]
#
# Every step prints a line when it starts, and the sub-benchmarks print as they go.

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


def say(line):
    print(line, flush=True)


def sub(script, args=(), heap="12m"):
    # One sub-benchmark on each runtime, its lines streamed as they come.
    for cmd in ([micropython(), "-X", "heapsize=" + heap, script] + list(args),
                [sys.executable, script] + list(args)):
        say("-- %s %s" % ("micropython" if cmd[0] != sys.executable else "cpython",
                         " ".join([script] + list(args))))
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        for line in proc.stdout:
            say("   " + line.rstrip())
        proc.wait()


def spread(xs, fmt="%.2f"):
    xs = sorted(xs)
    return (fmt + " / " + fmt + " / " + fmt) % (xs[0], xs[len(xs) // 2], xs[-1])


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


def main():
    import datetime
    import platform

    n = arg("--requests", 1000)
    node_n = arg("--node-requests", n)
    say("make bench, %s, %s, %d cores, %s"
        % (datetime.date.today().isoformat(), platform.machine(), os.cpu_count() or 0,
           " ".join(sys.version.split()[:1])))
    say("\n== queue on LittleFS (real littlefs on a RAM flash, 4 KiB blocks)")
    sub("tools/bench_queue.py")
    say("\n== queue on a raw-flash ring (4 KiB sectors, 128-byte records)")
    sub("tools/bench_ring.py")
    say("\n== record(): default Config, against json.dumps + append to the same queue")
    sub("tools/bench_record.py", heap="8m")
    receiver = Receiver(apps={"BENCH": None}, db_path=":memory:")
    receiver.start(host="127.0.0.1", port=0)
    try:
        say("\n== drain %d queued requests to the local receiver, against a bare "
            "keep-alive client" % n)
        heap_rows = []
        for label, heap in (("micropython 128k (.mpy)", "128k"), ("cpython", None)):
            drains, bares, ratios, conns = [], [], [], []
            for r in range(3):
                say("-- %s run %d/3 ..." % (label, r + 1))
                got = device_run(receiver.url, n, heap)
                if got is None:
                    say("   failed")
                    continue
                drains.append(got["drain_ms"])
                bares.append(got["bare_ms"])
                ratios.append(got["drain_ms"] / max(got["bare_ms"], 1))
                conns.append(got["connections"] / n)
                if heap:
                    heap_rows.append(got)
            if drains:
                say("%s: drain %s ms, bare client %s ms, drain / bare %s, "
                    "%.3f TCP connections per request"
                    % (label, spread(drains, "%d"), spread(bares, "%d"), spread(ratios),
                       max(conns)))
        if "--node" in sys.argv:
            say("-- countly-sdk-nodejs 24.10.4 draining %d (about 0.5 s per request) ..."
                % node_n)
            node = node_drain(receiver, node_n)
            if node:
                scaled = node["drain_ms"] * n // node_n
                say("countly-sdk-nodejs 24.10.4: %d ms for %d requests%s"
                    % (scaled, n, "" if node_n == n else " (measured on %d, scaled)" % node_n))
            else:
                say("countly-sdk-nodejs: not measured (node/npm missing)")
        say("\n== micropython heap, 64-bit binary (core imported from .mpy)")
        if heap_rows:
            for key, label in (("import_bytes", "held after import"),
                               ("init_bytes", "held after init"),
                               ("held_max_bytes", "held at most over %d events" % n)):
                say("%-34s %s B" % (label + ":", spread([r[key] for r in heap_rows], "%d")))
    finally:
        receiver.stop()


if __name__ == "__main__":
    main()
