# make_package.py - writes the mip packages from the source tree, so a new core module can never
# be left out of an install. One package per port, each with its own countly_port:
#   package.json        the ESP32 port and its Wi-Fi helper (what a board user installs)
#   package-unix.json   the unix port (CPython or the unix micropython binary)
# Both carry lib/countly_mp/*.py as countly_mp/*.py and the shared HTTP transports
# (ports/common), with URLs relative to the package file, so mip resolves them against wherever
# the file is served from (http://, github:, or a local path with mpremote).
#
#   python tools/make_package.py [--check]     (--check: exit 1 when a package file is stale)
#
# boot.py and main.py are the app's, not the library's: tools/deploy.py copies those.

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# package file -> the port folder whose modules it installs next to the core
PACKAGES = (("package.json", "esp32"), ("package-unix.json", "unix"))


def version():
    # the one version string lives in the core's __init__.py
    with open(os.path.join(ROOT, "lib", "countly_mp", "__init__.py")) as f:
        for line in f:
            if line.startswith("__version__"):
                return line.split("=", 1)[1].strip().strip("\"'")
    return "0.0.0"


def package(port="esp32"):
    core = sorted(n for n in os.listdir(os.path.join(ROOT, "lib", "countly_mp"))
                  if n.endswith(".py"))
    urls = [["countly_mp/" + n, "lib/countly_mp/" + n] for n in core]
    # the HTTP transports, then the port's modules (countly_port and its helpers)
    for folder in ("common", port):
        names = sorted(n for n in os.listdir(os.path.join(ROOT, "ports", folder))
                       if n.endswith(".py"))
        urls += [[n, "ports/%s/%s" % (folder, n)] for n in names]
    # relative URLs: mip resolves them against the package file's own URL or path
    return {"urls": urls, "deps": [], "version": version()}


def text(port="esp32"):
    return json.dumps(package(port), indent=2) + "\n"


def main(argv):
    stale = []
    for name, port in PACKAGES:
        path = os.path.join(ROOT, name)
        want = text(port)
        try:
            with open(path) as f:
                have = f.read()
        except OSError:
            have = None
        if have == want:
            continue
        stale.append(name)
        if "--check" not in argv:
            with open(path, "w") as f:
                f.write(want)
    if "--check" in argv:
        if stale:
            print("%s stale: run python tools/make_package.py" % ", ".join(stale))
            return 1
        return 0
    for name, port in PACKAGES:
        print("%s: %d files (%s port), version %s" % (name, len(package(port)["urls"]), port,
                                                      version()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
