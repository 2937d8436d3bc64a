# make_package.py - writes package.json (mip) from the source tree, so a new core module can
# never be left out of `mpremote mip install github:<owner>/<repo>`.
#
#   python tools/make_package.py [--check]     (--check: exit 1 when package.json is stale)
#
# Installs into the device's /lib (mip's default target): lib/countly_mp/*.py as
# countly_mp/*.py, the shared HTTP transports (ports/common) and the ESP32 port with its Wi-Fi
# helper. boot.py and main.py are the app's, not the library's: tools/deploy.py copies those.

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_EXTRA = (("countly_port.py", "ports/esp32/countly_port.py"),
          ("countly_wifi.py", "ports/esp32/countly_wifi.py"))


def version():
    # the one version string lives in the core's __init__.py
    with open(os.path.join(ROOT, "lib", "countly_mp", "__init__.py")) as f:
        for line in f:
            if line.startswith("__version__"):
                return line.split("=", 1)[1].strip().strip("\"'")
    return "0.0.0"


def package():
    core = sorted(n for n in os.listdir(os.path.join(ROOT, "lib", "countly_mp"))
                  if n.endswith(".py"))
    urls = [["countly_mp/" + n, "lib/countly_mp/" + n] for n in core]
    common = sorted(n for n in os.listdir(os.path.join(ROOT, "ports", "common"))
                    if n.endswith(".py"))
    urls += [[n, "ports/common/" + n] for n in common]     # the HTTP transports
    urls += [[dst, src] for dst, src in _EXTRA]
    # relative URLs: mip resolves them against package.json's own URL (github: or http://)
    return {"urls": urls, "deps": [], "version": version()}


def text():
    return json.dumps(package(), indent=2) + "\n"


def main(argv):
    path = os.path.join(ROOT, "package.json")
    want = text()
    try:
        with open(path) as f:
            have = f.read()
    except OSError:
        have = None
    if "--check" in argv:
        if have != want:
            print("package.json is stale: run python tools/make_package.py")
            return 1
        return 0
    if have != want:
        with open(path, "w") as f:
            f.write(want)
    print("package.json: %d files, version %s" % (len(package()["urls"]), version()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
