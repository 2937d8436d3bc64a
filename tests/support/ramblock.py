# ramblock.py - RAM flash for real LittleFS in tests, with erase counting and power cuts.
#
# MicroPython: RAMBlockDev speaks the VfsLfs2 "extended" block protocol.
# CPython: LfsContext is a littlefs-python UserContext with the same counters, and LfsOs
# makes a littlefs-python filesystem look like the few `os`/`open` calls FsQueue makes.
# Disk ties one byte image to either runtime: format(), mount() (= reboot), counters.
#
# Power cut: arm(k, mode) makes the k-th device operation from now (read, program, erase)
# the last one. A program or erase in flight is torn as mode says (MODES: the first half of
# its bytes land, a random prefix, every byte with some 0 bits still 1 as on NOR flash,
# nothing, or all of it yet reported failed), then the device is dead: every call from the
# cut on returns an error code (-5, LFS_ERR_IO) without allocating (littlefs may call us from
# a file finaliser while the heap is locked).
# Never an exception: one raised inside littlefs would jump out of it half-way, e.g. leave
# a half-opened file whose finaliser later commits garbage to the next mount of the image,
# which no real power cut can do.

import sys

from xorshift import XorShift

MP = sys.implementation.name == "micropython"
_EIO = -5
MODES = ("half", "prefix", "nor", "none", "full")


_MIN = 10 * 4096
_POOL = [None]


def _buffer(size):
    # One flash image reused by every test: under a 128 KiB heap a fresh 64 KiB bytearray
    # per test soon finds no contiguous hole. A larger image is fine (ioctl reports n).
    b = _POOL[0]
    if b is None or len(b) < size:
        _POOL[0] = b = None
        import gc

        gc.collect()
        b = bytearray(max(size, _MIN))
        _POOL[0] = b
    return b


class _Faults:
    def _init_faults(self, bs, n, data):
        self.bs = bs
        self.n = n
        self._ff = b"\xff" * 256
        if data is None:
            data = _buffer(bs * n)
            for i in range(0, bs * n, 256):
                data[i : i + 256] = self._ff
        self.data = data
        self.reads = 0
        self.progs = 0
        self.erases = 0
        self.prog_bytes = 0
        self.ops = 0
        self.cut_at = 0  # absolute op number of the cut; 0 = never
        self.dead = False
        self.fired = False
        self.mode = "half"
        self._rng = XorShift(2463534242)  # for the torn modes

    def arm(self, k, mode="half"):
        # mode: what the program or erase hit by the cut leaves (see MODES).
        self.cut_at = self.ops + k
        self.mode = mode

    def _landed(self, buf, cut):
        # The bytes of a program that reach the flash.
        if not cut or self.mode == "full":
            return buf
        try:
            return self._torn(buf)
        except MemoryError:  # a locked heap (a finaliser): nothing lands
            return b""

    def _torn(self, buf):
        n = len(buf)
        if self.mode == "half":
            return buf[: n // 2]
        if self.mode == "prefix":
            return buf[: self._rng.below(n + 1)]
        if self.mode == "none":
            return buf[:0]
        out = bytearray(buf)  # nor: each byte lands with some of its 0 bits still 1
        for i in range(n):
            out[i] |= self._rng.below(256) & ~out[i] & 0xFF
        return out

    def _erased(self, cut):
        # How many bytes from the start of the block an erase hit by the cut clears.
        m = self.mode
        if not cut or m == "full":
            return self.bs
        if m == "none":
            return 0
        return self.bs // 2 if m == "half" else self._rng.below(self.bs // 256 + 1) * 256

    def disarm(self):
        self.cut_at = 0

    def revive(self):
        # Simulated reboot: the bytes stay, the device works again.
        self.cut_at = 0
        self.dead = False
        self.fired = False

    def _tick(self):
        # True when this op is the one hit by the cut.
        self.ops += 1
        if self.cut_at and self.ops >= self.cut_at:
            self.cut_at = 0
            self.dead = True
            self.fired = True
            return True
        return False

    def _prog(self, a, buf, cut):
        buf = self._landed(buf, cut)
        n = len(buf)
        self.data[a : a + n] = buf
        self.progs += 1
        self.prog_bytes += n

    def _erase(self, blk, cut):
        a = blk * self.bs
        n = self._erased(cut)
        d = self.data
        ff = self._ff
        for i in range(a, a + n, 256):
            d[i : i + 256] = ff
        self.erases += 1


class RAMBlockDev(_Faults):
    # MicroPython VfsLfs2 block device (extended interface: offsets within a block).
    def __init__(self, bs=4096, n=16, data=None):
        self._init_faults(bs, n, data)

    def readblocks(self, blk, buf, off=0):
        if self.dead:
            return _EIO
        if self._tick():
            return _EIO
        self.reads += 1
        a = blk * self.bs + off
        try:
            buf[:] = memoryview(self.data)[a : a + len(buf)]
        except MemoryError:  # called from a finaliser with the heap locked
            return _EIO
        return 0

    def writeblocks(self, blk, buf, off=None):
        if self.dead:
            return _EIO
        if off is None:  # simple protocol: erase whole blocks first
            for i in range(len(buf) // self.bs):
                r = self.ioctl(6, blk + i)
                if r:
                    return r
            off = 0
        cut = self._tick()
        self._prog(blk * self.bs + off, buf, cut)
        return _EIO if cut else 0

    def ioctl(self, op, arg):
        if op == 4:
            return self.n
        if op == 5:
            return self.bs
        if op == 6:
            if self.dead:
                return _EIO
            cut = self._tick()
            self._erase(arg, cut)
            return _EIO if cut else 0
        if self.dead and op == 3:
            return _EIO
        return 0


class FileBlockDev(RAMBlockDev):
    # The same device with its bytes in a host file instead of the heap: a test that runs the
    # whole SDK inside a 128 KiB MicroPython heap has no room left for a flash image there.
    def __init__(self, path, bs=4096, n=16):
        self._init_faults(bs, n, b"")  # b"": no heap image
        self.f = open(path, "w+b")
        for _ in range(bs * n // 256):
            self.f.write(self._ff)
        self.f.flush()

    def readblocks(self, blk, buf, off=0):
        if self.dead:
            return _EIO
        if self._tick():
            return _EIO
        self.reads += 1
        self.f.seek(blk * self.bs + off)
        self.f.readinto(buf)
        return 0

    def _prog(self, a, buf, cut):
        buf = self._landed(buf, cut)
        self.f.seek(a)
        self.f.write(buf)
        self.progs += 1
        self.prog_bytes += len(buf)

    def _erase(self, blk, cut):
        self.f.seek(blk * self.bs)
        for _ in range(self._erased(cut) // 256):
            self.f.write(self._ff)
        self.erases += 1


try:
    import littlefs
    import errno as _errno

    class LfsContext(littlefs.UserContext, _Faults):
        # littlefs-python user context: same counters and cuts as RAMBlockDev.
        def __init__(self, bs=4096, n=16, data=None):
            self._init_faults(bs, n, data)
            self.buffer = self.data
            self.in_size = len(self.data)

        def read(self, cfg, block, off, size):
            if not self.dead:
                self._tick()  # a cut on a read only stops later writes
            self.reads += 1
            a = block * self.bs + off
            return self.data[a : a + size]

        def prog(self, cfg, block, off, data):
            if self.dead:
                return _EIO
            cut = self._tick()
            self._prog(block * self.bs + off, data, cut)
            return _EIO if cut else 0

        def erase(self, cfg, block):
            if self.dead:
                return _EIO
            cut = self._tick()
            self._erase(block, cut)
            return _EIO if cut else 0

        def sync(self, cfg):
            return _EIO if self.dead else 0

    def _oserr(e):
        if isinstance(e, littlefs.LittleFSError):
            return OSError(-e.code, e.name)
        if isinstance(e, FileNotFoundError):
            return OSError(_errno.ENOENT, "ENOENT")
        if isinstance(e, FileExistsError):
            return OSError(_errno.EEXIST, "EEXIST")
        return e

    class _LfsFile:
        # Raw (unbuffered) littlefs file whose errors are plain OSError(errno), like MicroPython.
        def __init__(self, raw):
            self.raw = raw

        def _do(self, fn, *a):
            try:
                return fn(*a)
            except (littlefs.LittleFSError, OSError) as e:
                raise _oserr(e)

        def read(self, n=-1):
            return self._do(self.raw.read, n)

        def readinto(self, b):
            return self._do(self.raw.readinto, b)

        def write(self, b):
            return self._do(self.raw.write, b)

        def seek(self, off, whence=0):
            return self._do(self.raw.seek, off, whence)

        def flush(self):
            return self._do(self.raw.flush)

        def close(self):
            try:
                self._do(self.raw.close)
            finally:
                # A close that failed on a dead device must not be retried by __del__.
                setattr(self.raw, "__IOBase_closed", True)

        def __enter__(self):
            return self

        def __exit__(self, *a):
            self.close()

    class LfsOs:
        # The os-like object FsQueue(fs=...) uses on CPython.
        def __init__(self, lfs):
            self.lfs = lfs

        def _do(self, fn, *a, **kw):
            try:
                return fn(*a, **kw)
            except (littlefs.LittleFSError, OSError) as e:
                raise _oserr(e)

        def open(self, path, mode="r"):
            if "a" in mode:
                # littlefs-python's "a" lacks O_CREAT; os/MicroPython "a" creates the file.
                F = littlefs.LFSFileFlag
                fl = F.wronly | F.creat | F.append
                fh = self._do(littlefs.lfs.file_open, self.lfs.fs, path, fl)
                return _LfsFile(littlefs.FileHandle(self.lfs.fs, fh))
            return _LfsFile(self._do(self.lfs.open, path, mode, buffering=0))

        def listdir(self, path="/"):
            return self._do(self.lfs.listdir, path)

        def remove(self, path):
            return self._do(self.lfs.remove, path)

        def mkdir(self, path):
            return self._do(self.lfs.mkdir, path)

        def rename(self, a, b):
            return self._do(self.lfs.rename, a, b)

        def statvfs(self, path):
            bs = self.lfs.cfg.block_size
            n = self.lfs.block_count
            free = n - self._do(lambda: self.lfs.used_block_count)
            return (bs, bs, n, free, free, 0, 0, 0, 0, 255)

        def stat(self, path):
            st = self._do(self.lfs.stat, path)
            mode = 0x4000 if st.type == 2 else 0x8000
            return (mode, 0, 0, 0, 0, 0, st.size, 0, 0, 0)

except ImportError:
    littlefs = None


def reserve():
    # Tests with heap images call this first thing, while the heap is still in one piece.
    if MP:
        _buffer(_MIN)


class Disk:
    # One flash image, usable from either runtime. mount() is a reboot: a fresh filesystem
    # object on the same bytes. Returns (fs, dirpath) for FsQueue(dirpath, fs=fs).
    MOUNT = "/q"

    def __init__(self, bs=4096, n=10, path=None):
        if MP and path:
            self.dev = FileBlockDev(path, bs, n)
        elif MP:
            self.dev = RAMBlockDev(bs, n)
        else:
            self.dev = LfsContext(bs, n)
        self.bs = bs
        self.n = n
        self._mounted = False

    def _lfs(self):
        return littlefs.LittleFS(
            context=self.dev,
            mount=False,
            block_size=self.bs,
            block_count=self.n,
            read_size=32,
            prog_size=32,
            cache_size=128,
            lookahead_size=32,
            block_cycles=100,
        )

    def format(self):
        if MP:
            import vfs

            vfs.VfsLfs2.mkfs(self.dev)
        else:
            self._lfs().format()

    def mount(self):
        self.dev.revive()
        if MP:
            import vfs

            if self._mounted:
                try:
                    vfs.umount(self.MOUNT)
                except OSError:
                    pass
            vfs.mount(vfs.VfsLfs2(self.dev), self.MOUNT)
            self._mounted = True
            return None, self.MOUNT
        fs = self._lfs()
        fs.mount()
        return LfsOs(fs), self.MOUNT

    def unmount(self):
        if MP and self._mounted:
            import vfs

            try:
                vfs.umount(self.MOUNT)
            except OSError:
                pass
            self._mounted = False
