# test_packaging.py - package.json against the real mip (unix micropython, loopback HTTP
# server serving the repo), manifest.py against the source tree, and tools/deploy.py
# --dry-run against the mpremote commands it must print.

import filecmp
import functools
import http.server
import os
import subprocess
import sys
import threading

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import make_package  # noqa: E402


def micropython():
    exe = os.path.join(os.path.dirname(sys.executable), "micropython")
    return exe if os.path.exists(exe) else "micropython"


@pytest.fixture
def http_root():
    handler = functools.partial(_QuietHandler, directory=ROOT)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield "http://127.0.0.1:%d" % srv.server_address[1]
    srv.shutdown()
    srv.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass


def test_package_json_is_current():
    assert make_package.main(["--check"]) == 0, "run python tools/make_package.py"


def test_package_json_lists_every_core_module():
    urls = dict(make_package.package()["urls"])
    core = [n for n in os.listdir(os.path.join(ROOT, "lib", "countly_mp")) if n.endswith(".py")]
    for n in core:
        assert urls["countly_mp/" + n] == "lib/countly_mp/" + n
    for dst in ("countly_http.py", "countly_port.py", "countly_wifi.py"):
        assert dst in urls
    assert urls["countly_port.py"] == "ports/esp32/countly_port.py"


def test_mip_installs_package_json(tmp_path, http_root):
    target = tmp_path / "lib"
    proc = subprocess.run([micropython(), "-m", "mip", "install", "--target", str(target),
                           http_root + "/package.json"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and "Done" in proc.stdout, proc.stdout + proc.stderr
    want = {dst: src for dst, src in make_package.package()["urls"]}
    got = set()
    for base, _dirs, files in os.walk(target):
        for f in files:
            got.add(os.path.relpath(os.path.join(base, f), target))
    assert got == set(want)
    for dst, src in want.items():
        assert filecmp.cmp(target / dst, os.path.join(ROOT, src), shallow=False), dst


def test_installed_tree_imports_on_micropython(tmp_path, http_root):
    # what mip put in /lib is a working SDK: import it and build the ESP32 platform
    target = tmp_path / "lib"
    subprocess.run([micropython(), "-m", "mip", "install", "--target", str(target),
                    http_root + "/package.json"], check=True, capture_output=True, timeout=60)
    code = ("import sys; sys.path.insert(0, %r); sys.path.insert(0, %r)\n"
            "from countly_mp import Config, Countly\n"
            "import countly_port, countly_wifi, countly_http\n"
            "p = countly_port.Platform(Config('http://127.0.0.1:9', 'K'))\n"
            "print(p.name, p.metrics()['_os'], p.generate_device_id())\n"
            % (str(target), os.path.join(ROOT, "tests", "esp32", "fakes")))
    out = subprocess.run([micropython(), "-c", code], capture_output=True, text=True, timeout=30)
    assert out.stdout.split() == ["esp32", "MicroPython", "esp32-246f28a1b2c3"], out.stderr


def _run_manifest(path):
    calls = []
    env = {
        "include": lambda p, **kw: calls.append(("include", p)),
        "metadata": lambda **kw: calls.append(("metadata", kw)),
        "package": lambda name, base_path=".", **kw: calls.append(("package", name, base_path)),
        "module": lambda name, base_path=".", **kw: calls.append(("module", name, base_path)),
        "require": lambda name, **kw: calls.append(("require", name)),
    }
    with open(path) as f:
        exec(compile(f.read(), path, "exec"), env)
    return calls


@pytest.mark.parametrize("manifest,port", [("manifest.py", "esp32"), ("manifest_unix.py", "unix")])
def test_manifest_names_existing_sources(manifest, port):
    calls = _run_manifest(os.path.join(ROOT, manifest))
    assert ("package", "countly_mp", "lib") in calls
    mods = [c for c in calls if c[0] == "module"]
    for _, name, base in mods:
        assert os.path.exists(os.path.join(ROOT, base, name)), name
    assert ("module", "countly_port.py", "ports/" + port) in mods
    meta = [c[1] for c in calls if c[0] == "metadata"][0]
    assert meta["version"] == make_package.version()


def _dry_run(*args):
    out = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "deploy.py"), "--dry-run"]
                         + list(args), capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_deploy_dry_run_commands():
    import shlex

    words = shlex.split(_dry_run("--device", "/dev/ttyUSB0", "--rtc", "--secrets", "my.json"))
    assert words[0] == "TZ=UTC"   # mpremote rtc --set writes local time; the port wants UTC
    assert os.path.basename(words[1]) == "mpremote"
    assert words[2:4] == ["connect", "/dev/ttyUSB0"]
    steps, cur = [], []
    for w in words[4:]:
        if w == "+":
            steps.append(cur)
            cur = []
        else:
            cur.append(w)
    steps.append(cur)
    assert steps[0][0] == "exec" and "os.remove" in steps[0][1]   # stale .py would shadow .mpy
    mpy = os.path.join(ROOT, "build", "mpy")
    core = sorted(n[:-3] + ".mpy" for n in os.listdir(os.path.join(ROOT, "lib", "countly_mp"))
                  if n.endswith(".py"))
    assert steps[1] == ["cp"] + [os.path.join(mpy, "countly_mp", n) for n in core] \
        + [":lib/countly_mp/"]
    assert steps[2] == ["cp"] + [os.path.join(mpy, n) for n in (
        "countly_aio_http.mpy", "countly_http.mpy", "countly_http_response.mpy",
        "countly_http_wire.mpy", "countly_tls.mpy")] + [
                        os.path.join(mpy, "ports", "esp32", "countly_port.mpy"),
                        os.path.join(mpy, "ports", "esp32", "countly_wifi.mpy"), ":lib/"]
    assert steps[3] == ["cp", os.path.join(ROOT, "boot.py"), ":boot.py"]
    assert steps[4] == ["cp", os.path.join(ROOT, "main.py"), ":main.py"]
    assert steps[5] == ["cp", "my.json", ":secrets.json"]
    assert steps[6] == ["rtc", "--set"]
    assert steps[7] == ["soft-reset"]
    assert len(steps) == 8


def test_deploy_dry_run_without_options():
    import shlex

    words = shlex.split(_dry_run("--secrets", ""))
    assert os.path.basename(words[0]) == "mpremote"   # no TZ without --rtc, no connect
    assert "connect" not in words and "rtc" not in words and ":secrets.json" not in words
    assert words[-1] == "soft-reset"
