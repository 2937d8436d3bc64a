# board.py - a simulated ESP32 for unix MicroPython: fake machine/network/ntptime/esp32 first
# on sys.path, the SDK from the .mpy build, and a real LittleFS on a host-file block device
# mounted at /flash (the image lives outside the heap, as flash does on a board).
#
# One process is one boot. The state a chip keeps between boots (RTC wall clock, RTC memory,
# reset cause) is saved to <dir>/board.json when the app calls machine.deepsleep() or the
# scenario powers off, and loaded by the next process:
#   power_on(dir)   fresh RTC (counts from 2000-01-01), RTC memory empty, flash kept
#   wake(dir)       after deep sleep: RTC and RTC memory kept, reset_cause DEEPSLEEP_RESET
# Time: the fake `time` module's skew (time.warp()) is the board's time beyond the host's; it
# is carried from boot to boot, and deepsleep(ms) adds ms to it: the sleep costs no wall time
# while every clock of the board (RTC, ticks, the NTP server's answer) sees it pass. A new
# board starts an hour behind the host, so that no warp dates a record in the future of the
# receiver (which, like a Countly server, clamps future timestamps to its own time).
#
# Environment: COUNTLY_MPY (build/mpy), COUNTLY_ROOT (repo), COUNTLY_TEST_RECEIVER (URL),
# COUNTLY_FAKES (where the fake modules are; default tests/esp32/fakes).

import os
import sys

ROOT = os.getenv("COUNTLY_ROOT") or "."
_HERE = ROOT + "/tests/esp32"


def _paths():
    mpy = os.getenv("COUNTLY_MPY") or ROOT + "/build/mpy"
    # first wins: fakes shadow the (extensible) built-in machine module of the unix port;
    # the .mpy build before the sources, as on a board with a deployed bundle
    fakes = os.getenv("COUNTLY_FAKES") or _HERE + "/fakes"
    for p in (ROOT + "/tests/support", ROOT + "/ports/esp32", mpy + "/ports/esp32", mpy, fakes):
        sys.path.insert(0, p)


_paths()

import machine  # noqa: E402  (the fake)
import time  # noqa: E402  (the fake: warp)

_SKEW0 = -3600000
_BS = 4096      # ESP32 geometry
_BLOCKS = 64    # 256 KiB of flash is plenty for a scenario


class FileBlockDev:
    # VfsLfs2 "extended" block protocol over a host file, so remounting in the next process
    # is a reboot and the image costs no Python heap.
    def __init__(self, path, bs=_BS, n=_BLOCKS):
        self.bs = bs
        self.n = n
        self.erases = 0
        self._ff = b"\xff" * 256
        try:
            os.stat(path)
            fresh = False
        except OSError:
            fresh = True
            with open(path, "wb") as f:
                for _ in range(bs * n // 256):
                    f.write(self._ff)
        self.fresh = fresh
        self.f = open(path, "r+b")

    def readblocks(self, blk, buf, off=0):
        self.f.seek(blk * self.bs + off)
        self.f.readinto(buf)

    def writeblocks(self, blk, buf, off=None):
        if off is None:
            for i in range(len(buf) // self.bs):
                self.ioctl(6, blk + i)
            off = 0
        self.f.seek(blk * self.bs + off)
        self.f.write(buf)
        self.f.flush()

    def ioctl(self, op, arg):
        if op == 4:
            return self.n
        if op == 5:
            return self.bs
        if op == 6:
            self.erases += 1
            self.f.seek(arg * self.bs)
            for _ in range(self.bs // 256):
                self.f.write(self._ff)
            return 0
        return 0


_dir = None
bdev = None


def _mount(d):
    global bdev
    import vfs

    bdev = FileBlockDev(d + "/flash.img")
    if bdev.fresh:
        vfs.VfsLfs2.mkfs(bdev)
    vfs.mount(vfs.VfsLfs2(bdev), "/flash")


def _load(d):
    import json

    try:
        with open(d + "/board.json") as f:
            s = json.load(f)
    except OSError:
        time.skew_ms = _SKEW0
        return None
    st = machine.state
    st["uid"] = bytes.fromhex(s["uid"])
    st["rtc_base_ns"] = s["rtc_base_ns"]
    st["rtc_host_ns"] = s["rtc_host_ns"]
    st["rtc_mem"] = bytes.fromhex(s["rtc_mem"])
    time.skew_ms = s["skew_ms"]
    return s


def save(cause):
    # What the chip keeps for the next boot; cause: the next boot's reset_cause().
    import json

    st = machine.state
    slept = (st["sleep_ms"] or 0) if cause == machine.DEEPSLEEP_RESET else 0
    skew = time.skew_ms + slept
    with open(_dir + "/board.json", "w") as f:
        json.dump({"uid": st["uid"].hex(), "rtc_base_ns": st["rtc_base_ns"],
                   "rtc_host_ns": st["rtc_host_ns"], "rtc_mem": st["rtc_mem"].hex(),
                   "cause": cause, "sleep_ms": st["sleep_ms"], "skew_ms": skew}, f)


def power_on(d, uid=None):
    global _dir
    _dir = d
    _load(d)
    if uid is not None:
        machine.state["uid"] = uid
    machine.power_on_clock()        # the RTC restarts at 2000-01-01
    machine.state["rtc_mem"] = b""  # RTC memory does not survive power loss
    machine.state["cause"] = machine.PWRON_RESET
    _mount(d)


def wake(d):
    global _dir
    _dir = d
    s = _load(d)
    machine.state["cause"] = s["cause"] if s else machine.PWRON_RESET
    _mount(d)


def write_secrets(timeout_ms):
    import json

    with open("/flash/secrets.json", "w") as f:
        json.dump({"ssid": "test-ap", "password": "pw", "timeout_ms": timeout_ms}, f)


def run_boot_py():
    # The real boot.py, run from the flash root where secrets.json lives.
    os.chdir("/flash")
    with open(ROOT + "/boot.py") as f:
        src = f.read()
    exec(src, {"__name__": "boot"})


def run(fn):
    # Runs the app; a deepsleep() ends the boot like on the chip. -> "sleep" or "exit"
    try:
        fn()
    except machine.DeepSleep:
        save(machine.DEEPSLEEP_RESET)
        print("BOARD deepsleep %s ms" % machine.state["sleep_ms"])
        return "sleep"
    save(machine.PWRON_RESET)
    return "exit"
