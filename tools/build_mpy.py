# build_mpy.py - compiles the core, the HTTP client and the ports to .mpy with mpy-cross.
# A board then imports bytecode and skips the compiler, whose peak heap is about 5x the
# module's. The output tree is what deploy.py copies to a device's /lib.
#
# Built with -O3: no line-number tables (about 4% less heap held per module; the SDK reports
# its own errors by module and function, not by line). --lines keeps them for debugging.
#
#   python tools/build_mpy.py [--out build/mpy] [--lines]

import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def mpy_cross():
    exe = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    return exe if os.path.exists(exe) else "mpy-cross"


def source_name(rel):
    # "countly_mp/limits.mpy" -> "limits"; "ports/esp32/countly_port.mpy" -> "countly_port"
    return rel.rsplit("/", 1)[-1][:-4]


def _compile(src, target, source_name, opt):
    os.makedirs(os.path.dirname(target), exist_ok=True)
    cmd = [mpy_cross(), "-o", target, "-s", source_name]
    if opt:
        cmd.insert(1, opt)
    subprocess.check_call(cmd + [src])
    return os.path.getsize(target)


def build(out=None, opt="-O3"):
    # build/mpy/countly_mp/*.mpy      the core package
    # build/mpy/countly_http*.mpy     the shared HTTP clients (ports/common)
    # build/mpy/ports/<port>/countly_port.mpy
    out = out or os.path.join(ROOT, "build", "mpy")
    shutil.rmtree(out, ignore_errors=True)
    jobs = []
    src = os.path.join(ROOT, "lib", "countly_mp")
    for name in sorted(os.listdir(src)):
        if name.endswith(".py"):
            jobs.append((os.path.join(src, name), "countly_mp/" + name[:-3] + ".mpy"))
    common = os.path.join(ROOT, "ports", "common")
    for name in sorted(os.listdir(common)):
        if name.endswith(".py"):
            jobs.append((os.path.join(common, name), name[:-3] + ".mpy"))
    for port in sorted(os.listdir(os.path.join(ROOT, "ports"))):
        p = os.path.join(ROOT, "ports", port, "countly_port.py")
        if os.path.exists(p):
            jobs.append((p, "ports/%s/countly_port.mpy" % port))
    built = []
    for path, rel in jobs:
        # The source name in tracebacks is the module's own name, an interned string the
        # import makes anyway: "countly_mp/limits.py" would be one more per module.
        size = _compile(path, os.path.join(out, rel), source_name(rel), opt)
        built.append((rel, size))
    return out, built


def main():
    out = sys.argv[sys.argv.index("--out") + 1] if "--out" in sys.argv else None
    opt = None if "--lines" in sys.argv else "-O3"
    dst, built = build(out, opt)
    total = 0
    for name, size in built:
        print("%-32s %6d B" % (name, size))
        total += size
    print("%d modules, %d bytes of .mpy in %s" % (len(built), total, dst))


if __name__ == "__main__":
    main()
