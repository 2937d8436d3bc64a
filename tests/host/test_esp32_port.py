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
