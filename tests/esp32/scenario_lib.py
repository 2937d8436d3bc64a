# scenario_lib.py - helpers shared by the boots of the ESP32 device scenario (scenario.py).

import gc
import os
import time

import machine

APP_KEY = "APPKEY"
_peak = [0]


def mem(label=None):
    a = gc.mem_alloc()
    if a > _peak[0]:
        _peak[0] = a
    if label:
        gc.collect()
        print("MEM %s %d" % (label, gc.mem_alloc()))


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("OK " + what)


def true_ms():
    return time.time_ns() // 1000000   # the host clock is the true time


def make(resume=True, url=None, port=None, **opts):
    # -> (Countly, Platform) as an app on the board makes them; opts go to Config, port to the
    # Platform
    from countly_mp import Config, Countly
    import countly_port

    o = {"app_version": "1.0.0", "event_queue_threshold": 3, "event_flush_interval": 1,
         "session_update_interval": 60, "retry_cooldown": 0, "http_timeout": 2,
         "logging": bool(os.getenv("SCENARIO_LOG"))}
    o.update(opts)
    cfg = Config(url or os.getenv("COUNTLY_TEST_RECEIVER"), APP_KEY, **o)
    p = countly_port.Platform(cfg, storage_root="/flash/countly", resume_sessions=resume,
                              time_ns=machine.time_ns_2000, epoch_year=2000, **(port or {}))
    ly = Countly(cfg, platform=p)
    check(ly.ready, "sdk ready")
    return ly, p


def at(what):
    # a moment a request of the receiver is checked against (begin, end, ...)
    print("AT %s %d" % (what, true_ms()))


def set_rtc():
    # the RTC set to the true time, whole seconds, as tools/deploy.py --rtc leaves a board
    s = time.time_ns() // 1000000000
    days, rem = divmod(s, 86400)
    y, m, d = machine._civil_from_days(days)
    machine.RTC().datetime((y, m, d, (days + 3) % 7, rem // 3600, rem // 60 % 60, rem % 60, 0))


def warp(ms):
    # ms pass on the board at once (the fake time module; the RTC and the NTP server follow)
    time.warp(ms)


def exchanges(ly, p, before=None):
    # Counts the HTTP exchanges from now on: -> [n]. before() runs ahead of each (it may raise,
    # like a failing handshake).
    n = [0]
    make_transport = p.transport

    def transport(*a):
        t = make_transport(*a)
        real = t.exchange

        def exchange(*b):
            n[0] += 1
            if before is not None:
                before()
            return real(*b)

        t.exchange = exchange
        return t

    p.transport = transport
    ly.sender.close()   # the next send opens its connection through the wrapper
    return n


def timed_tick(ly, n, ntp):
    # one tick, its duration and what it did: -> (ms, NTP queries, HTTP exchanges)
    q, x = ntp.queries, n[0]
    t0 = time.ticks_ms()
    ly.tick()
    ms = time.ticks_diff(time.ticks_ms(), t0)
    mem()
    out = (ms, ntp.queries - q, n[0] - x)
    print("TICK %d %d %d" % out)
    return out


def tick(ly, n=1, pause_ms=10):
    out = None
    for _ in range(n):
        out = ly.tick()
        mem()
        time.sleep_ms(pause_ms)
    return out


def drain(ly, limit_ms=15000):
    # tick until both queues are empty (events combine after event_flush_interval)
    start = time.ticks_ms()
    while len(ly.event_queue) or ly.pending():
        if time.ticks_diff(time.ticks_ms(), start) > limit_ms:
            raise AssertionError("not drained: %d pending" % ly.pending())
        tick(ly, 1, 20)


def record(ly, key, **seg):
    t = true_ms()
    check(ly.events.record(key, segmentation=seg or None), "recorded " + key)
    print("EV %s %d" % (key, t))


def fail_sensor():
    raise ValueError("sensor bus stuck")


def crash(ly):
    crashes = None
    try:
        crashes = ly.crashes
    except AttributeError:
        pass
    if crashes is None or not hasattr(crashes, "guard"):
        print("NOCRASHES")
        return
    t = true_ms()
    try:
        crashes.guard(fail_sensor)
    except ValueError:
        print("CRASH %d" % t)
        return
    raise AssertionError("guard did not re-raise")
