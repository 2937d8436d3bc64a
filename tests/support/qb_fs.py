# qb_fs.py - queue backend for the contract tests (qcontract.py): FsQueue on LittleFS on a
# RAM flash (littlefs-python on CPython, VfsLfs2 on MicroPython with the image in a host file,
# off the 128 KiB heap). 64 blocks of 4 KiB: 256 KiB, segments of 8 KiB.

from countly_mp.fsqueue import FsQueue
from fakes import tmpdir
from ramblock import Disk

OWNS_STORAGE = False
BLOCKS = 64
_last = [None]


def make(capacity, max_item):
    if _last[0] is not None:
        _last[0].unmount()  # MicroPython mounts every image at the same place
    disk = _last[0] = Disk(4096, BLOCKS, tmpdir("qbfs") + "/image")
    disk.format()

    def boot():
        fs, d = disk.mount()
        q = FsQueue(d + "/q", capacity=capacity, max_item=max_item, fs=fs)
        q.disk = disk
        return q

    return boot(), boot


def fill(q):
    n = 0
    item = b"f" * 1000
    while True:
        try:
            q.append(item)
        except OSError as e:
            if e.args[0] != 28:
                raise
            return n
        n += 1
