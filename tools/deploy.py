# deploy.py - put countly_mp on a board with mpremote: the .mpy bundle (tools/build_mpy.py),
# the ESP32 port, boot.py and main.py, optionally secrets.json, then set the RTC and reset.
#
#   python tools/deploy.py --device /dev/ttyUSB0 [--port esp32] [--secrets secrets.json]
#                          [--rtc] [--no-build]
#   python tools/deploy.py --dry-run [--device ...] [...]     prints the mpremote command only
#
# Nothing touches a board without an explicit --device (mpremote alone would pick the first
# serial device it finds); --help prints the usage and does nothing else; an unknown flag is an
# error (exit status 2). --port names the ports/<port> folder whose modules go to /lib
# (countly_port.mpy, helpers). Without --secrets, ./secrets.json is copied when it exists;
# --secrets "" copies none. Everything is one mpremote invocation chained with "+", so the
# board is entered once.
# Why the steps:
#   * stale /lib/countly_mp/*.py (e.g. from an earlier `mip install`) are removed first: a
#     .py next to a .mpy of the same name wins the import and would shadow the new bytecode;
#   * mpremote's `cp -r` copies INTO an existing directory (unix cp semantics), which makes
#     repeated deploys nest; explicit file lists into :lib/ and :lib/countly_mp/ do not;
#   * `rtc --set` writes the host's LOCAL time; the port reads the RTC as UTC, so mpremote
#     runs with TZ=UTC for that.

import argparse
import os
import shlex
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))

_PREPARE = ("import os\n"
            "for d in ('/lib', '/lib/countly_mp'):\n"
            "    try:\n"
            "        os.mkdir(d)\n"
            "    except OSError:\n"
            "        pass\n"
            "for d, names in (('/lib/countly_mp', os.listdir('/lib/countly_mp')),\n"
            "                 ('/lib', ('countly_http.py', 'countly_port.py',\n"
            "                           'countly_wifi.py', 'countly_aio_http.py',\n"
            "                           'countly_http_response.py', 'countly_http_wire.py',\n"
            "                           'countly_tls.py'))):\n"
            "    for n in names:\n"
            "        if n.endswith('.py'):\n"
            "            try:\n"
            "                os.remove(d + '/' + n)\n"
            "            except OSError:\n"
            "                pass\n")


def mpremote():
    exe = os.path.join(os.path.dirname(sys.executable), "mpremote")
    return exe if os.path.exists(exe) else "mpremote"


def bundle(mpy, port):
    # -> [(local file, remote dir)] in copy order. Named from the sources, not from what is in
    # the build folder, so a dry run prints the same list before and after a build.
    core = sorted(n[:-3] for n in os.listdir(os.path.join(ROOT, "lib", "countly_mp"))
                  if n.endswith(".py"))
    files = [(os.path.join(mpy, "countly_mp", n + ".mpy"), ":lib/countly_mp/") for n in core]
    for n in sorted(os.listdir(os.path.join(ROOT, "ports", "common"))):
        if n.endswith(".py"):  # the HTTP transports
            files.append((os.path.join(mpy, n[:-3] + ".mpy"), ":lib/"))
    for n in sorted(os.listdir(os.path.join(ROOT, "ports", port))):
        if n.endswith(".py"):   # countly_port plus helpers such as countly_wifi
            files.append((os.path.join(mpy, "ports", port, n[:-3] + ".mpy"), ":lib/"))
    return files


def build_bundle(port):
    # the SDK .mpy build plus the port's helper modules, compiled the same way
    from build_mpy import build, mpy_cross

    out = build()[0]
    pdir = os.path.join(ROOT, "ports", port)
    for n in sorted(os.listdir(pdir)):
        if n.endswith(".py") and n != "countly_port.py":
            subprocess.check_call([mpy_cross(), "-o", os.path.join(out, "ports", port,
                                                                  n[:-3] + ".mpy"),
                                   "-s", n, os.path.join(pdir, n)])
    return out


def commands(mpy, port="esp32", device=None, secrets=None, rtc=False):
    # -> (env, argv) of the one mpremote run
    cmd = [mpremote()]
    if device:
        cmd += ["connect", device]
    cmd += ["exec", _PREPARE]
    by_dir = {}
    for local, remote in bundle(mpy, port):
        by_dir.setdefault(remote, []).append(local)
    for remote in (":lib/countly_mp/", ":lib/"):
        cmd += ["+", "cp"] + by_dir[remote] + [remote]
    for app in ("boot.py", "main.py"):
        cmd += ["+", "cp", os.path.join(ROOT, app), ":" + app]
    if secrets:
        cmd += ["+", "cp", secrets, ":secrets.json"]
    if rtc:
        cmd += ["+", "rtc", "--set"]
    cmd += ["+", "soft-reset"]
    env = {"TZ": "UTC"} if rtc else {}
    return env, cmd


def parse(argv):
    p = argparse.ArgumentParser(
        prog="tools/deploy.py",
        description="Copy the countly_mp .mpy bundle, a port, boot.py, main.py and secrets to "
                    "a board with mpremote.")
    p.add_argument("--device", help="serial device of the board, e.g. /dev/ttyUSB0 "
                                    "(required unless --dry-run)")
    p.add_argument("--port", default="esp32", choices=_ports(),
                   help="the ports/<PORT> folder whose modules go to /lib (default esp32)")
    p.add_argument("--secrets", help="Wi-Fi secrets file copied to :secrets.json (default "
                                     "./secrets.json when it exists; \"\" for none)")
    p.add_argument("--rtc", action="store_true", help="set the board's RTC to UTC from the host")
    p.add_argument("--no-build", action="store_true", help="copy build/mpy as it is")
    p.add_argument("--dry-run", action="store_true",
                   help="print the mpremote command, touch nothing")
    args = p.parse_args(argv)
    if not args.dry_run and not args.device:
        p.error("--device is required (or --dry-run): nothing is copied to a board "
                "mpremote would have to guess")
    return args


def _ports():
    return sorted(n for n in os.listdir(os.path.join(ROOT, "ports"))
                  if os.path.exists(os.path.join(ROOT, "ports", n, "countly_port.py")))


def main(argv):
    args = parse(argv)
    secrets = args.secrets
    if secrets is None and os.path.exists(os.path.join(ROOT, "secrets.json")):
        secrets = os.path.join(ROOT, "secrets.json")
    if args.no_build or args.dry_run:
        mpy = os.path.join(ROOT, "build", "mpy")
    else:
        mpy = build_bundle(args.port)
    env, cmd = commands(mpy, args.port, args.device, secrets, args.rtc)
    if args.dry_run:
        print(" ".join(["%s=%s" % kv for kv in env.items()] + [shlex.quote(c) for c in cmd]))
        return 0
    return subprocess.call(cmd, env=dict(os.environ, **env))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
