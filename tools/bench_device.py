# bench_device.py - the device half of tools/bench.py; runs under micropython (or CPython).
# Imports the core (from .mpy when MICROPYPATH points at build/mpy), records N events while
# offline so that N requests wait in the flash queue, then drains them to the receiver at
# COUNTLY_URL; then a bare keep-alive client (countly_http.HTTPClient, nothing else) sends N
# requests of the same shape and size to the same receiver, the least any client does. Prints
# one JSON line of figures. On MicroPython it also reports the heap held after import, after
# init, and at most between calls while recording (sampled after a collection).
#
#   MICROPYPATH=build/mpy:build/mpy/ports/unix COUNTLY_URL=http://127.0.0.1:PORT \
#       micropython -X heapsize=128k tools/bench_device.py 1000 /tmp/store

import gc
import json
import os
import sys
import time

MP = sys.implementation.name == "micropython"


def heap():
    # Live heap after a collection; CPython has no gc.mem_alloc (figures are MicroPython's).
    gc.collect()
    return gc.mem_alloc() if MP else 0


def now_ms():
    if MP:
        return time.ticks_ms()
    return int(time.monotonic() * 1000)


def bare(url, n):
    # N requests like the SDK's (same params, same size) over one keep-alive connection,
    # each answered before the next; only the params that change are formatted per request.
    import countly_http
    from countly_mp.wire import quote

    c = countly_http.HTTPClient(url, 10000)
    head = ("/i?app_key=BENCH&device_id=bench-device&timestamp=%d&hour=12&dow=3&tz=0"
            "&sdk_name=micropython-native-unix&sdk_version=26.1.0&events=")
    gc.collect()
    t0 = now_ms()
    for i in range(n):
        ev = '[{"key":"reading","count":1,"sum":%d,"segmentation":{"i":%d,"sensor":"t1"},' \
             '"timestamp":1700000000000,"hour":12,"dow":3}]' % (i, i)
        status, _, _ = c.exchange("GET", head % (1700000000000 + i) + quote(ev)
                                  + "&rr=%d" % (n - i - 1))
        if status != 200:
            raise OSError("bare client: HTTP %d" % status)
    ms = now_ms() - t0
    c.close()
    return ms


def main(n, storage):
    base = heap()
    from countly_mp import Config, Countly  # noqa: E402
    import countly_port

    imported = heap() - base

    class Offline(countly_port.Platform):
        online = False

        def is_online(self):
            return self.online

    cfg = Config(os.getenv("COUNTLY_URL"), "BENCH", device_id="bench-device",
                 manual_sessions=True, event_queue_threshold=1, storage_path=storage,
                 request_queue_size=n + 10, retry_cooldown=1)
    platform = Offline(cfg)
    ly = Countly(cfg, platform=platform)
    after_init = heap() - base
    peak = after_init
    t0 = now_ms()
    for i in range(n):
        ly.events.record("reading", sum=i, segmentation={"i": i, "sensor": "t1"})
        if i % 50 == 0:
            used = heap() - base  # what the SDK holds between calls, after a collection
            if used > peak:
                peak = used
    record_ms = now_ms() - t0
    queued = ly.pending()
    platform.online = True
    t0 = now_ms()
    delivered = ly.flush()
    drain_ms = now_ms() - t0
    transport = ly.sender._transport
    bare_ms = bare(os.getenv("COUNTLY_URL"), n)
    out = {
        "runtime": sys.implementation.name,
        "queued": queued,
        "delivered": delivered,
        "record_ms": record_ms,
        "drain_ms": drain_ms,
        "bare_ms": bare_ms,
        "connections": getattr(transport, "connections", None),
        "import_bytes": imported,
        "init_bytes": after_init,
        "held_max_bytes": peak,
    }
    print(json.dumps(out))


main(int(sys.argv[1]), sys.argv[2])
