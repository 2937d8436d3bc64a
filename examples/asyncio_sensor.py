# asyncio_sensor.py - an asyncio app: a sensor task and the SDK task side by side.
# The sensor task reads a (simulated) sensor every period and records each reading; the SDK
# task is ly.run(), which sends in the background without ever holding the loop for a network
# exchange. The sensor task measures how late each of its wake-ups was, so you can see the
# network never stalls it. Runs unchanged on CPython and on the unix micropython binary (and
# on an ESP32, where boot.py has brought Wi-Fi up and countly_port is the ESP32 port).
#
#   PYTHONPATH=lib:ports/common:ports/unix .venv/bin/python examples/asyncio_sensor.py
#   MICROPYPATH=.frozen:lib:ports/common:ports/unix .venv/bin/micropython \
#       examples/asyncio_sensor.py
#
# Settings (environment, host only): COUNTLY_URL (default http://127.0.0.1:8080, the receiver of
# `make receiver`), COUNTLY_APP_KEY (DEMO_APP_KEY), COUNTLY_STORAGE (the port's default
# folder), DEMO_READINGS (20), DEMO_PERIOD_MS (100).

import asyncio
import sys
import time

import countly_port
from countly_mp import Config, Countly

_MP = sys.implementation.name == "micropython"


def setting(name, default):
    try:
        import os

        return os.getenv(name) or default
    except (ImportError, AttributeError):  # a board has no environment
        return default


def ticks_ms():
    if _MP:
        return time.ticks_ms()
    return int(time.monotonic() * 1000)


def since_ms(t0):
    if _MP:
        return time.ticks_diff(time.ticks_ms(), t0)
    return ticks_ms() - t0


async def sleep_ms(ms):
    if _MP:
        await asyncio.sleep_ms(ms)
    else:
        await asyncio.sleep(ms / 1000)


async def sensor_task(ly, readings, period_ms):
    # One reading per period. -> the latest wake-up seen, in ms past the period.
    late = 0
    for n in range(readings):
        value = 200 + (n * 7) % 50  # a stand-in for an I2C sensor: tenths of a degree
        if ly.events.record("reading", sum=value / 10, segmentation={"n": n}):
            print("recorded %d" % n)
        t0 = ticks_ms()
        await sleep_ms(period_ms)
        late = max(late, since_ms(t0) - period_ms)
    return late


async def main():
    readings = int(setting("DEMO_READINGS", "20"))
    period_ms = int(setting("DEMO_PERIOD_MS", "100"))
    config = Config(setting("COUNTLY_URL", "http://127.0.0.1:8080"),
                    setting("COUNTLY_APP_KEY", "DEMO_APP_KEY"), app_version="1.0.0",
                    event_queue_threshold=5, retry_cooldown=1, http_timeout=2,
                    storage_path=setting("COUNTLY_STORAGE", None))
    ly = Countly(config, platform=countly_port.Platform(config))
    sdk = asyncio.create_task(ly.run(period_ms))  # the SDK task: atick() once a period
    late = await sensor_task(ly, readings, period_ms)
    ly.stop()  # ends the session; run() returns after its current step
    await sdk
    for _ in range(50):  # what is left, within a bounded number of rounds
        await ly.aflush()
        if ly.pending() == 0:
            break
        await sleep_ms(100)
    print("sensor woke at most %d ms late" % late)
    print("done pending=%d" % ly.pending())


asyncio.run(main())
