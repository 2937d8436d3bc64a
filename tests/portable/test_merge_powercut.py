# test_merge_powercut.py - a device ID change with merge is one durable step: a power cut at any
# flash operation inside device_id.change(new, merge=True) leaves the device either on the old
# ID, or on the new ID with exactly one merge request queued (old_device_id=old). Real LittleFS
# on a RAM flash (VfsLfs2 on MicroPython, littlefs-python on CPython), every cut position.

import gc

from fakes import FakePlatform, ScriptedTransport, tmpdir
from ramblock import Disk

from countly_mp.config import Config
from countly_mp.countly import Countly
from countly_mp.request import split_record
from countly_mp.wire import decode_params


class FlashPlatform(FakePlatform):
    def __init__(self, fs, root, transport):
        FakePlatform.__init__(self, root=root, transport=transport)
        self.fs = fs
        self.online = False  # nothing leaves the queue: the test reads it


def boot(disk):
    fs, root = disk.mount()
    return Countly(Config("http://127.0.0.1:9", "APPKEY", device_id="old-id"),
                   platform=FlashPlatform(fs, root, ScriptedTransport()))


def merges(ly):
    # The old_device_id requests queued, as (device_id, old_device_id).
    out = []
    for _, rec in ly.request_queue.items():
        params = dict(decode_params(bytes(split_record(rec)[1])))
        if "old_device_id" in params:
            out.append((params["device_id"], params["old_device_id"]))
    return out


def test_a_cut_at_any_point_of_a_merge_leaves_old_id_or_new_id_with_its_merge():
    disk = Disk(4096, 16, tmpdir("merge") + "/image")
    k = 1
    seen = {"old": 0, "new": 0}
    while True:
        disk.format()
        ly = boot(disk)
        ly.events.record("before")  # an open batch: the change closes it first
        dev = disk.dev
        dev.arm(k)
        ok = ly.device_id.change("new-id", merge=True)
        fired = dev.fired
        dev.disarm()
        ly = None
        gc.collect()
        ly = boot(disk)  # reboot on the same flash bytes
        now = ly.device_id.get()
        got = merges(ly)
        if now == "old-id":
            assert got == [], (k, got)
            seen["old"] += 1
        else:
            assert now == "new-id" and got == [("new-id", "old-id")], (k, now, got)
            seen["new"] += 1
        ly = None
        disk.unmount()
        if not fired:
            assert ok
            break
        k += 1
    print("merge cuts: %d positions, %d old ID, %d new ID with its merge"
          % (k, seen["old"], seen["new"]))
    assert seen["old"] and seen["new"] and k > 5
