# benchkit.py - what the benchmark scripts share, on CPython and MicroPython: a microsecond
# timer, a line printed at once (bench.py shows progress as it comes) and min / median / max.

import sys
import time

MP = sys.implementation.name == "micropython"

if MP:

    def now_us():
        return time.ticks_us()

    def diff(a, b):
        return time.ticks_diff(b, a)

else:

    def now_us():
        return int(time.perf_counter() * 1000000)

    def diff(a, b):
        return b - a


def say(line):
    print(line)
    try:
        sys.stdout.flush()
    except AttributeError:
        pass


def spread(xs, fmt="%.2f"):
    # "min / median / max" of a few runs
    xs = sorted(xs)
    return (fmt + " / " + fmt + " / " + fmt) % (xs[0], xs[len(xs) // 2], xs[-1])
