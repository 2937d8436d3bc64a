# main.py - example sensor app: reads a (simulated) sensor and reports it to Countly.
# The same file runs on an ESP32 and on the unix port (CPython or the micropython binary), so the
# demo exercises exactly what ships. Settings come from countly_settings.json next to this file
# (on a board) or from COUNTLY_* environment variables (on the host). On an ESP32, boot.py has
# started Wi-Fi (bounded wait) and countly_port is the ESP32 port from /lib (tools/deploy.py).

import time

import countly_port
from countly_mp import Config, Countly

try:
    import os

    _getenv = os.getenv
except AttributeError:  # ESP32 has no environment

    def _getenv(name, default=None):
        return default


def settings():
    s = {"url": "http://127.0.0.1:8080", "app_key": "DEMO_APP_KEY", "readings": 0,
         "period_ms": 1000, "storage": None}
    try:
        import json

        with open("countly_settings.json") as f:
            s.update(json.load(f))
    except (OSError, ValueError):
        pass
    s["url"] = _getenv("COUNTLY_URL", s["url"])
    s["app_key"] = _getenv("COUNTLY_APP_KEY", s["app_key"])
    s["readings"] = int(_getenv("DEMO_READINGS", s["readings"]))
    s["period_ms"] = int(_getenv("DEMO_PERIOD_MS", s["period_ms"]))
    s["storage"] = _getenv("COUNTLY_STORAGE", s["storage"])
    return s


def sleep_ms(ms):
    if hasattr(time, "sleep_ms"):
        time.sleep_ms(ms)
    else:
        time.sleep(ms / 1000)


class Sensor:
    # A stand-in for an I2C temperature sensor: a slow sawtooth in tenths of a degree.
    def read(self, n):
        return 200 + (n * 7) % 50


def next_reading_number(path):
    # The reading counter survives restarts, so a rebooted board continues the series. It is
    # advanced before the reading is recorded: a reset in between skips a number, never
    # records the same number twice.
    try:
        with open(path) as f:
            n = int(f.read())
    except (OSError, ValueError):
        n = 0
    with open(path + ".tmp", "w") as f:
        f.write(str(n + 1))
    os.rename(path + ".tmp", path)
    return n


def loop(ly, counter, limit, period_ms):
    # The sensor loop: one reading per period, and tick() for the SDK's timers and sending
    # (at most one bounded HTTP exchange per call, none while Wi-Fi is down).
    sensor = Sensor()
    while True:
        n = next_reading_number(counter)
        if limit and n >= limit:
            break
        value = sensor.read(n)
        if ly.events.record("reading", sum=value / 10,
                            segmentation={"n": n, "band": "high" if value > 230 else "low"}):
            print("recorded %d" % n)
        ly.tick()
        sleep_ms(period_ms)


def run(s):
    cfg = Config(s["url"], s["app_key"], app_version="1.0.0", event_queue_threshold=5,
                 event_flush_interval=2, session_update_interval=10, retry_cooldown=1,
                 http_timeout=2, storage_path=s["storage"], logging=bool(_getenv("COUNTLY_LOG")))
    ly = Countly(cfg, platform=countly_port.Platform(cfg))
    counter = ly.store.path("demo_counter") if ly.ready else "demo_counter"
    # An exception escaping the loop (a sensor driver bug, say) is recorded as a fatal crash,
    # made durable in the flash queue and re-raised; it is sent after the next boot.
    crashes = None
    try:
        crashes = ly.crashes
    except (AttributeError, ImportError):
        pass  # an SDK build without the crashes feature: run unguarded
    guard = getattr(crashes, "guard", None)
    if guard is not None:
        guard(loop, ly, counter, s["readings"], s["period_ms"])
    else:
        loop(ly, counter, s["readings"], s["period_ms"])
    ly.stop()
    # Deliver what is left, within a bounded number of tries, before reporting done.
    for _ in range(200):
        ly.flush()
        if ly.pending() == 0:
            break
        ly.tick()
        sleep_ms(100)
    print("done pending=%d" % ly.pending())


run(settings())
