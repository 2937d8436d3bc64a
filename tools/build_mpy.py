# build_mpy.py - compiles the core to .mpy bytecode with mpy-cross, into build/mpy/.
# A board then imports bytecode and skips the compiler, whose peak heap is about 5x the
# module's (embedded-notes.md). The output tree is what deploy.py copies to a device's /lib.
#
#   python tools/build_mpy.py [--out build/mpy] [-O3]

import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def mpy_cross():
    exe = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    return exe if os.path.exists(exe) else "mpy-cross"


def build(out=None, opt=None):
    out = out or os.path.join(ROOT, "build", "mpy")
    src = os.path.join(ROOT, "lib", "countly_mp")
    dst = os.path.join(out, "countly_mp")
    shutil.rmtree(dst, ignore_errors=True)
    os.makedirs(dst)
    built = []
    for name in sorted(os.listdir(src)):
        if not name.endswith(".py"):
            continue
        target = os.path.join(dst, name[:-3] + ".mpy")
        cmd = [mpy_cross(), "-o", target, "-s", "countly_mp/" + name]
        if opt:
            cmd.insert(1, opt)
        subprocess.check_call(cmd + [os.path.join(src, name)])
        built.append((name[:-3] + ".mpy", os.path.getsize(target)))
    return dst, built


def main():
    out = sys.argv[sys.argv.index("--out") + 1] if "--out" in sys.argv else None
    opt = "-O3" if "-O3" in sys.argv else None
    dst, built = build(out, opt)
    total = 0
    for name, size in built:
        print("%-22s %6d B" % (name, size))
        total += size
    print("%d modules, %d bytes of .mpy in %s" % (len(built), total, dst))


if __name__ == "__main__":
    main()
