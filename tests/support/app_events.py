# app_events.py - a small app as a user writes it, for the heap-pressure test: Config defaults,
# one reading recorded per loop with a realistic segmentation, tick() every loop, flush() at
# the end. Prints "A <n>" for every reading the SDK accepted and "S <status json>" at the end,
# so the test can check that everything accepted reached the server. With n = 0 it only sends
# what an earlier run left on flash (the next boot).
#
#   MICROPYPATH=build/mpy:build/mpy/ports/unix COUNTLY_URL=http://127.0.0.1:PORT \
#       micropython -X heapsize=96k tests/support/app_events.py 1000 /tmp/store

import json
import sys

from countly_mp import Config, Countly


def main(n, storage, url):
    ly = Countly(Config(url, "APPKEY", storage_path=storage))
    for i in range(n):
        if ly.events.record("reading", sum=i % 50, segmentation={"id": i, "sensor": "bme280",
                                                                  "room": "lab-2"}):
            print("A %d" % i)
        ly.tick()
    ly.stop()
    for _ in range(20):
        ly.flush()
        if ly.pending() == 0:
            break
    try:
        print("S " + json.dumps(ly.status()))
    except MemoryError:
        print("S out of memory")


main(int(sys.argv[1]), sys.argv[2], sys.argv[3])
