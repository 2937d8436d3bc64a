# port_checks.py - unit checks of ports/esp32/countly_port.py on unix MicroPython with the fake
# machine/network/ntptime modules. Run by tests/host/test_esp32_port.py; prints "ok <name>"
# per check and "N passed, N failed" last (the tests/mp_runner.py convention).

import os
import sys

ROOT = os.getenv("COUNTLY_ROOT") or "."
for p in (ROOT + "/ports/common", ROOT + "/ports/esp32", ROOT + "/tests/esp32/fakes"):
    sys.path.insert(0, p)

import machine  # noqa: E402
import network  # noqa: E402
import ntptime  # noqa: E402

import countly_port  # noqa: E402


class Ticks(countly_port.Platform):
    # hand-driven ticks for the NTP backoff
    t = 0

    def ticks_ms(self):
        return self.t

    def ticks_diff(self, a, b):
        return a - b


def fresh():
    machine.power_on_clock()
    machine.state["rtc_mem"] = b""
    machine.state["cause"] = machine.PWRON_RESET
    network.down()
    ntptime.fail = 0
    ntptime.queries = 0
    ntptime.offline_queries = 0
    return Ticks(None, time_ns=machine.time_ns_2000, epoch_year=2000)


def test_no_work_at_construction():
    polls = network.polls
    countly_port.Platform()
    assert network.polls == polls and ntptime.queries == 0


def test_device_id_from_unique_id():
    assert fresh().generate_device_id() == "esp32-246f28a1b2c3"


def test_metrics():
    m = fresh().metrics()
    assert m["_os"] == "MicroPython" and m["_os_version"] and m["_device"]
    assert "_app_version" not in m


def test_clock_invalid_until_ntp_then_2000_epoch_converted():
    p = fresh()
    assert p.epoch_ms() is None          # RTC counting from 2000-01-01
    network.up()
    p.service()
    assert p.synced() and ntptime.queries == 1
    import time

    d = p.epoch_ms() - time.time_ns() // 1000000
    assert -1100 < d <= 5, d             # whole seconds from ntptime: up to 1 s behind


def test_plausible_rtc_is_valid_without_ntp():
    p = fresh()
    machine.RTC().datetime((2025, 6, 1, 6, 12, 0, 0, 0))
    assert p.epoch_ms() // 1000 in (1748779200, 1748779201)
    assert not p.synced()


def test_native_epoch_detection():
    # unix MicroPython is 1970-based: the default reads time.time_ns() unchanged
    p = countly_port.Platform()
    import time

    assert abs(p.epoch_ms() - time.time_ns() // 1000000) < 1000


def test_no_ntp_while_offline():
    p = fresh()
    for _ in range(5):
        p.service()
    assert ntptime.queries == 0 and not p.is_online()


def test_ntp_backoff_doubles_and_caps():
    p = fresh()
    network.up()
    ntptime.fail = 100
    waits = []
    for _ in range(12):
        q = ntptime.queries
        p.service()
        assert ntptime.queries == q + 1   # exactly one query per call when due
        p.service()
        assert ntptime.queries == q + 1   # not due again at once
        waits.append(p._ntp_wait)
        p.t += p._ntp_wait
    assert waits[:4] == [2000, 4000, 8000, 16000]
    assert waits[-1] == 600000 and max(waits) == 600000
    ntptime.fail = 0
    p.service()
    assert p.synced()


def test_ntp_resync_daily():
    p = fresh()
    network.up()
    p.service()
    q = ntptime.queries
    p.t += 86400000 - 1
    p.service()
    assert ntptime.queries == q
    p.t += 1
    p.service()
    assert ntptime.queries == q + 1


def test_service_never_raises():
    p = fresh()
    network.up()
    p._ntp_attempt = None   # would raise TypeError inside
    p.service()


def test_woke_from_sleep_and_resume_flag():
    p = fresh()
    assert not p.woke_from_sleep()
    machine.state["cause"] = machine.DEEPSLEEP_RESET
    assert p.woke_from_sleep()
    q = Ticks(None, resume_sessions=False)
    assert not q.woke_from_sleep()


def test_session_memory_roundtrip_and_foreign_data():
    p = fresh()
    mem = p.session_memory()
    assert mem.read() == b""
    mem.write(b"1 1748779200000")
    assert mem.read() == b"1 1748779200000"
    machine.RTC().memory(b"app data")   # the app's own use of RTC memory
    assert mem.read() == b""
    assert countly_port.Platform(rtc_memory=False).session_memory() is None


def test_ram():
    cur, total = fresh().ram()
    assert 0 < cur < total


def test_storage_root_created_lazily():
    import time

    root = "/tmp/countly_esp32_%d" % time.ticks_ms()
    p = countly_port.Platform(storage_root=root + "/")
    try:
        os.stat(root)
        raise AssertionError("created too early")
    except OSError:
        pass
    assert p.storage_root() == root
    os.stat(root)
    assert p.storage_root() == root   # EEXIST is fine
    os.rmdir(root)


def test_tz_minutes():
    assert countly_port.Platform().tz_minutes() == 0
    assert countly_port.Platform(tz_minutes=120).tz_minutes() == 120
    assert countly_port.Platform({"tz_minutes": -300}).tz_minutes() == -300


def test_transport_tls_policy():
    # No CA bundle on a board: verified only with ca_data; tls_verify=True without it is a
    # setting the port cannot honour (ValueError); the default connects unverified and says so
    p = fresh()
    t = p.transport("http://127.0.0.1:9", 1000)
    assert t.timeout_ms == 1000 and not t.insecure
    t = p.transport("https://127.0.0.1:9", 1000)
    assert t.insecure and t.tls_verify is False
    try:
        p.transport("https://127.0.0.1:9", 1000, True, None)
        raise AssertionError("tls_verify=True without ca_data accepted")
    except ValueError:
        pass
    with open(ROOT + "/tests/support/tls/ca.der", "rb") as f:
        der = f.read()
    t = p.transport("https://127.0.0.1:9", 1000, None, der)
    assert t.tls_verify is True and not t.insecure
    assert not hasattr(p, "tls_warned")     # the core prints the one warning, not the port


def test_is_online_follows_wlan():
    p = fresh()
    assert not p.is_online()
    network.up()
    assert p.is_online()
    network.down()
    assert not p.is_online()


def test_wifi_helper_bounded_and_gives_up():
    import time

    import countly_wifi

    network.down()
    network.connect_polls = -1
    t0 = time.ticks_ms()
    assert countly_wifi.connect("ap", "pw", timeout_ms=300) is False
    assert 250 <= time.ticks_diff(time.ticks_ms(), t0) < 1000
    network.connect_polls = 3
    assert countly_wifi.connect("ap", "pw", timeout_ms=2000) is True
    network.down()
    network.reject = 202   # wrong password: no point waiting out the timeout
    t0 = time.ticks_ms()
    assert countly_wifi.connect("ap", "bad", timeout_ms=5000) is False
    assert time.ticks_diff(time.ticks_ms(), t0) < 500
    network.reject = None
    assert countly_wifi.load_secrets("/nonexistent.json") is None


def main():
    passed = failed = 0
    g = globals()
    for name in sorted(g):
        if name.startswith("test_"):
            try:
                g[name]()
                passed += 1
                print("ok   " + name)
            except Exception as e:
                failed += 1
                print("FAIL " + name)
                sys.print_exception(e)
    print("%d passed, %d failed" % (passed, failed))
    return failed


sys.exit(1 if main() else 0)
