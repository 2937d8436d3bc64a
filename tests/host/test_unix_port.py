# test_unix_port.py - CPython tests of ports/unix/countly_port.Platform.
#
# Covers what only the host can check: freezegun-controlled clocks, storage
# root creation in a temp dir, and TLS verification against a self-signed
# loopback server (certificate made with the openssl CLI; skipped without it).

import os
import re
import shutil
import subprocess
import sys
import time

import pytest
from freezegun import freeze_time

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
for _p in ("lib", "ports/common", "ports/unix", "tests/support"):
    _p = os.path.join(_ROOT, _p)
    if _p not in sys.path:
        sys.path.insert(0, _p)

import countly_http  # noqa: E402
import countly_port  # noqa: E402
import scripted_server  # noqa: E402

_UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_construction_does_no_io(tmp_path, monkeypatch):
    target = tmp_path / "not" / "yet"
    countly_port.Platform(storage_root=str(target))
    assert not target.exists()


def test_metrics_keys():
    m = countly_port.Platform().metrics()
    assert m["_os"] == ("Linux" if sys.platform.startswith("linux") else m["_os"])
    assert isinstance(m["_os_version"], str) and m["_os_version"]
    assert m["_device"] == os.uname().machine
    assert "_app_version" not in m   # added by the core
    assert set(m) <= {"_os", "_os_version", "_device"}


def test_name():
    assert countly_port.Platform.name == "unix"


def test_device_id_format_and_uniqueness():
    p = countly_port.Platform()
    ids = {p.generate_device_id() for _ in range(500)}
    assert len(ids) == 500
    for i in ids:
        assert _UUID4.match(i), i


def test_epoch_ms_frozen():
    p = countly_port.Platform()
    with freeze_time("2025-03-04 05:06:07.890"):
        assert p.epoch_ms() == 1741064767890
    with freeze_time("2023-12-31 23:59:59"):
        assert p.epoch_ms() is None   # clock not plausible yet
    with freeze_time("2024-01-01 00:00:00"):
        assert p.epoch_ms() == 1704067200000


def test_epoch_ms_real_clock_is_int():
    v = countly_port.Platform().epoch_ms()
    assert isinstance(v, int) and abs(v - time.time() * 1000) < 5000


def test_ticks_monotonic_and_diff():
    p = countly_port.Platform()
    with freeze_time("2025-01-01", tick=False) as ft:
        a = p.ticks_ms()
        ft.tick(1.5)
        b = p.ticks_ms()
        assert p.ticks_diff(b, a) == 1500
        assert p.ticks_diff(a, b) == -1500
    a = p.ticks_ms()
    time.sleep(0.02)
    assert p.ticks_diff(p.ticks_ms(), a) >= 15


def test_tz_minutes(monkeypatch):
    p = countly_port.Platform()
    monkeypatch.delenv("COUNTLY_TZ_MINUTES", raising=False)
    assert p.tz_minutes() == time.localtime().tm_gmtoff // 60
    monkeypatch.setenv("COUNTLY_TZ_MINUTES", "330")
    assert p.tz_minutes() == 330


def test_storage_root_created_lazily(tmp_path, monkeypatch):
    explicit = tmp_path / "a" / "b" / "c"
    p = countly_port.Platform(storage_root=str(explicit))
    assert p.storage_root() == str(explicit)
    assert explicit.is_dir()
    assert p.storage_root() == str(explicit)   # idempotent

    env = tmp_path / "env" / "store"
    monkeypatch.setenv("COUNTLY_STORAGE", str(env))
    assert countly_port.Platform().storage_root() == str(env)
    assert env.is_dir()

    monkeypatch.delenv("COUNTLY_STORAGE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    os.mkdir(str(tmp_path / "home"))
    assert countly_port.Platform().storage_root() == str(tmp_path / "home" / ".countly_mp")
    assert (tmp_path / "home" / ".countly_mp").is_dir()


def test_transport_selection():
    t = countly_port.Platform().transport("http://127.0.0.1:9", 1000)
    assert isinstance(t, countly_http.HTTPClient)
    assert t.connections == 0
    t.close()
    r = countly_port.Platform(http="requests").transport("http://127.0.0.1:9", 1000)
    assert isinstance(r, countly_port.RequestsTransport)
    r2 = countly_port.Platform({"http": "requests"}).transport("http://127.0.0.1:9", 1000)
    assert isinstance(r2, countly_port.RequestsTransport)


def test_getaddrinfo_called_once(monkeypatch):
    calls = []
    real = countly_http.socket.getaddrinfo

    def counting(*a, **k):
        calls.append(a)
        return real(*a, **k)

    monkeypatch.setattr(countly_http.socket, "getaddrinfo", counting)
    with scripted_server.ScriptedServer() as srv:
        srv.script([{"close": True}, {"close": True}])
        c = countly_http.HTTPClient(srv.url, 2000)
        for _ in range(3):
            assert c.exchange("GET", "/i", None, None)[0] == 200
        c.close()
    assert c.connections == 3   # two server-side closes -> three connections
    assert len(calls) == 1      # ... but one DNS lookup


def test_base_path_prefix_kept():
    with scripted_server.ScriptedServer() as srv:
        c = countly_http.HTTPClient(srv.url + "/countly/", 2000)
        assert c.exchange("GET", "/i?a=1", None, None)[0] == 200
        c.close()
        assert srv.stats()["log"][0]["path"] == "/countly/i?a=1"


# -- TLS ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.skip("openssl CLI not available")
    d = tmp_path_factory.mktemp("tls")
    cert, key = str(d / "cert.pem"), str(d / "key.pem")
    r = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
         "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        capture_output=True, timeout=60)
    if r.returncode != 0:
        pytest.skip("openssl failed: %s" % r.stderr.decode(errors="replace")[:200])
    return cert, key


@pytest.fixture()
def tls_server(tls_files):
    srv = scripted_server.ScriptedServer(certfile=tls_files[0], keyfile=tls_files[1]).start()
    yield srv
    srv.stop()


def test_tls_verification_on_by_default(tls_server):
    t = countly_port.Platform().transport(tls_server.url, 2000)
    with pytest.raises(OSError):
        t.exchange("GET", "/i", None, None)
    assert t._sock is None
    assert t.verified is True
    assert tls_server.stats()["requests"] == 0


def test_tls_verify_false_connects(tls_server):
    t = countly_port.Platform().transport(tls_server.url, 2000, tls_verify=False)
    try:
        for _ in range(3):
            assert t.exchange("GET", "/i", None, None)[0] == 200
    finally:
        t.close()
    assert t.verified is False
    assert t.connections == 1   # keep-alive over TLS too


@pytest.mark.parametrize("as_bytes", [False, True])
def test_tls_ca_data_verifies(tls_server, tls_files, as_bytes):
    with open(tls_files[0], "rb") as f:
        pem = f.read()
    ca = pem if as_bytes else pem.decode()
    t = countly_port.Platform().transport(tls_server.url, 2000, ca_data=ca)
    try:
        assert t.exchange("POST", "/i", b"a=1", "application/x-www-form-urlencoded")[0] == 200
    finally:
        t.close()
    assert t.verified is True


def test_tls_ca_data_der(tls_server, tls_files):
    with open(tls_files[0], "rb") as f:
        der = countly_http.pem_to_der_list(f.read())[0]
    t = countly_http.HTTPClient(tls_server.url, 2000, ca_data=der)
    try:
        assert t.exchange("GET", "/i", None, None)[0] == 200
    finally:
        t.close()


def test_cpython_log_lines_go_to_the_logging_module(caplog, tmp_path):
    import logging

    import countly_port
    from countly_mp import Config, Countly

    cfg = Config("http://127.0.0.1:9", "APPKEY", storage_path=str(tmp_path))
    with caplog.at_level(logging.DEBUG, logger="countly_mp"):
        ly = Countly(cfg, platform=countly_port.Platform(cfg))
        ly.device_id.change("x" * 300)  # refused: one error line even with logging off
    got = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "countly_mp"]
    assert (logging.ERROR, "[Countly] [DeviceId] change, device ID must be a non-empty string "
            "of at most 256 characters, ignored") in got
