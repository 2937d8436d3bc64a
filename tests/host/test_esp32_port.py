# test_esp32_port.py - runs tests/esp32/port_checks.py (the ESP32 port's unit checks) under the
# real unix MicroPython binary with the fake machine/network/ntptime modules, 128 KiB heap.

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_esp32_port_checks_on_micropython():
    exe = os.path.join(os.path.dirname(sys.executable), "micropython")
    proc = subprocess.run([exe if os.path.exists(exe) else "micropython", "-X", "heapsize=128k",
                           os.path.join(ROOT, "tests", "esp32", "port_checks.py")],
                          env=dict(os.environ, COUNTLY_ROOT=ROOT), capture_output=True,
                          text=True, timeout=60)
    out = proc.stdout + proc.stderr
    last = out.strip().splitlines()[-1]
    assert proc.returncode == 0 and last.endswith("passed, 0 failed"), out
    assert int(last.split()[0]) >= 18, out


def test_esp32_port_imports_on_cpython_without_side_effects():
    # The module is MicroPython-only at run time but must import anywhere (no work at import)
    sys.path.insert(0, os.path.join(ROOT, "ports", "esp32"))
    try:
        import importlib.util

        spec = importlib.util.spec_from_file_location(
            "esp32_countly_port", os.path.join(ROOT, "ports", "esp32", "countly_port.py"))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        p = mod.Platform(tz_minutes=60)
        assert p.name == "esp32" and p.tz_minutes() == 60 and p.session_memory() is None
        assert p.is_online() is False   # no network module on the host
    finally:
        sys.path.remove(os.path.join(ROOT, "ports", "esp32"))


def _load_esp32_port():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "esp32_countly_port_tls", os.path.join(ROOT, "ports", "esp32", "countly_port.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_esp32_transport_tls_rule(capsys):
    # The board has no CA bundle: tls_verify=True without ca_data is refused at construction
    # (sync and asyncio); the default connects encrypted but unverified and says so through
    # `insecure` (the core prints the warning; the port prints nothing); ca_data verifies.
    import pytest

    p = _load_esp32_port().Platform()
    for make in (p.transport, p.async_transport):
        with pytest.raises(ValueError):
            make("https://127.0.0.1:9", 1000, True, None)
        t = make("https://127.0.0.1:9", 1000)
        assert t.insecure and t.tls_verify is False
        t = make("https://127.0.0.1:9", 1000, False, None)
        assert t.insecure
        with open(os.path.join(ROOT, "tests", "support", "tls", "ca.pem")) as f:
            t = make("https://127.0.0.1:9", 1000, None, f.read())
        assert not t.insecure and t.tls_verify is True
        t = make("http://127.0.0.1:9", 1000, True, None)   # no TLS, nothing to verify
        assert not t.insecure
    assert not hasattr(p, "tls_warned")
    assert capsys.readouterr().out == ""
