# test_packaging.py - the mip packages (package.json for ESP32, package-unix.json for the unix
# port) against the real mip (unix micropython, loopback HTTP server serving the repo), an app
# run from nothing but what mip installed, manifest.py against the source tree, and
# tools/deploy.py: the mpremote commands --dry-run prints, --help and argument errors (no board
# here: nothing may reach mpremote or the build).

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


@pytest.mark.parametrize("name,port", make_package.PACKAGES)
def test_package_lists_every_module_of_its_port(name, port):
    urls = dict(make_package.package(port)["urls"])
    core = [n for n in os.listdir(os.path.join(ROOT, "lib", "countly_mp")) if n.endswith(".py")]
    for n in core:
        assert urls["countly_mp/" + n] == "lib/countly_mp/" + n
    for folder in ("common", port):
        for n in os.listdir(os.path.join(ROOT, "ports", folder)):
            if n.endswith(".py"):
                assert urls[n] == "ports/%s/%s" % (folder, n)
    assert urls["countly_port.py"] == "ports/%s/countly_port.py" % port
    assert len(urls) == len(make_package.package(port)["urls"])  # no name twice


def _mip_install(target, url):
    proc = subprocess.run([micropython(), "-m", "mip", "install", "--target", str(target), url],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "Done" in proc.stdout, proc.stdout + proc.stderr


@pytest.mark.parametrize("name,port", make_package.PACKAGES)
def test_mip_installs_each_package(tmp_path, http_root, name, port):
    target = tmp_path / "lib"
    _mip_install(target, http_root + "/" + name)
    want = {dst: src for dst, src in make_package.package(port)["urls"]}
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
    _mip_install(target, http_root + "/package.json")
    code = ("import sys; sys.path.insert(0, %r); sys.path.insert(0, %r)\n"
            "from countly_mp import Config, Countly\n"
            "import countly_port, countly_wifi, countly_http\n"
            "p = countly_port.Platform(Config('http://127.0.0.1:9', 'K'))\n"
            "print(p.name, p.metrics()['_os'], p.generate_device_id())\n"
            % (str(target), os.path.join(ROOT, "tests", "esp32", "fakes")))
    out = subprocess.run([micropython(), "-c", code], capture_output=True, text=True, timeout=30)
    assert out.stdout.split() == ["esp32", "MicroPython", "esp32-246f28a1b2c3"], out.stderr


_TINY_APP = """
import os
from countly_mp import Config, Countly
ly = Countly(Config(os.getenv("COUNTLY_URL"), "PKGAPP", device_id=os.getenv("DEVICE")))
print(ly.platform.name, ly.events.record("installed", segmentation={"ok": 1}), ly.flush(),
      ly.pending())
"""


def test_unix_package_runs_an_app_on_both_interpreters(tmp_path, http_root):
    # package-unix.json holds everything an app needs on a computer: a tiny app runs from the
    # installed folder alone (plus MicroPython's own frozen modules) and its data arrives
    from countly_receiver import Receiver

    target = tmp_path / "lib"
    _mip_install(target, http_root + "/package-unix.json")
    app = tmp_path / "app.py"
    app.write_text(_TINY_APP)
    with Receiver(apps={"PKGAPP": None}, db_path=":memory:") as r:  # on 127.0.0.1, a free port
        for exe, var, path, dev in ((micropython(), "MICROPYPATH", ".frozen:" + str(target), "mp"),
                                    (sys.executable, "PYTHONPATH", str(target), "cpython")):
            env = dict(os.environ, COUNTLY_URL=r.url, DEVICE=dev,
                       COUNTLY_STORAGE=str(tmp_path / ("storage-" + dev)))
            env[var] = path
            env.pop("PYTHONPATH" if var == "MICROPYPATH" else "MICROPYPATH", None)
            out = subprocess.run([exe, str(app)], env=env, cwd=str(tmp_path),
                                 capture_output=True, text=True, timeout=60)
            assert out.returncode == 0, out.stdout + out.stderr
            assert out.stdout.split() == ["unix", "True", "2", "0"], out.stdout + out.stderr
            events = [e for e in r.rows("events", device_id=dev) if e["key"] == "installed"]
            assert [e["segmentation"] for e in events] == [{"ok": 1}], events


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


def _deploy(*args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "tools", "deploy.py")]
                          + list(args), capture_output=True, text=True, timeout=30)


def _dry_run(*args):
    out = _deploy("--dry-run", *args)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.parametrize("args,code,text", [
    (["--help"], 0, "usage: tools/deploy.py"),
    (["--device", "/dev/ttyUSB0", "--bogus"], 2, "unrecognized arguments: --bogus"),
    ([], 2, "--device is required"),
    (["--rtc", "--secrets", "s.json"], 2, "--device is required"),
    (["--dry-run", "--port", "nosuchport"], 2, "invalid choice"),
])
def test_deploy_arguments_touch_nothing(monkeypatch, args, code, text, capsys):
    # --help, an unknown flag and a missing --device end before any build or mpremote run
    import deploy

    def untouchable(*a, **k):
        raise AssertionError("deploy.py went on to build or run mpremote")

    monkeypatch.setattr(deploy, "build_bundle", untouchable)
    monkeypatch.setattr(deploy.subprocess, "call", untouchable)
    monkeypatch.setattr(deploy.subprocess, "check_call", untouchable)
    with pytest.raises(SystemExit) as e:
        deploy.main(args)
    assert e.value.code == code
    out = capsys.readouterr()
    assert text in out.out + out.err
    assert _deploy(*args).returncode == code  # the same from the command line


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


def test_deploy_dry_run_unix_port():
    import shlex

    words = shlex.split(_dry_run("--port", "unix", "--secrets", ""))
    mpy = os.path.join(ROOT, "build", "mpy")
    cps = [w for w in words if w.startswith(os.path.join(mpy, "ports"))]
    assert cps == [os.path.join(mpy, "ports", "unix", n) for n in
                   ("countly_blockfile.mpy", "countly_port.mpy")]
