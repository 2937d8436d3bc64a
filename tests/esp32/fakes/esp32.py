# esp32.py - fake ESP32 `esp32` module: only what an app next to countly_mp tends to touch.

HEAP_DATA = 4
HEAP_EXEC = 1
WAKEUP_ALL_LOW = False
WAKEUP_ANY_HIGH = True

_nvs = {}


class NVS:
    # Non-volatile key/value store; values live in a module dict (one "boot" per process).
    def __init__(self, namespace):
        self._ns = _nvs.setdefault(namespace, {})

    def set_i32(self, key, value):
        self._ns[key] = int(value)

    def get_i32(self, key):
        if key not in self._ns:
            raise OSError(-4354)   # ESP_ERR_NVS_NOT_FOUND
        return self._ns[key]

    def set_blob(self, key, value):
        self._ns[key] = bytes(value)

    def get_blob(self, key, buf):
        v = self._ns.get(key)
        if v is None:
            raise OSError(-4354)
        buf[: len(v)] = v
        return len(v)

    def erase_key(self, key):
        self._ns.pop(key, None)

    def commit(self):
        pass


def raw_temperature():
    return 120


def idf_heap_info(caps):
    return [(120000, 60000, 40000, 50000)]


def wake_on_ext0(pin, level):
    pass


def wake_on_timer(ms):
    pass


# Raw flash partitions (esp32.Partition with its default 4 KiB blocks): the test's partition
# table is add_partition(); find() and Partition(label) search it. NOR rules: erase sets 0xFF,
# a program may only clear bits (one that needs a 0 -> 1 transition raises OSError(EIO), where
# a chip would silently AND). Backed by a host file when given a path (the board keeps it
# between boots, like its LittleFS image), else by RAM kept here for the life of the process.
_partitions = []


class _Flash:
    def __init__(self, info, path):
        self.info = info
        self.erases = self.programs = 0
        self.ram = self.f = None
        if path is None:
            self.ram = bytearray(info[3])
            for i in range(0, info[3], 256):
                self.ram[i : i + 256] = b"\xff" * 256
            return
        try:
            open(path, "rb").close()
        except OSError:
            with open(path, "wb") as f:
                for _ in range(info[3] // 256):
                    f.write(b"\xff" * 256)
        self.f = open(path, "r+b", buffering=0)   # unbuffered: the next boot reads it

    def get(self, a, n):
        if self.ram is not None:
            return bytes(self.ram[a : a + n])
        self.f.seek(a)
        return self.f.read(n)

    def put(self, a, b):
        if self.ram is not None:
            self.ram[a : a + len(b)] = b
        else:
            self.f.seek(a)
            self.f.write(b)


def add_partition(label, size, path=None, subtype=0x99, type_=1):
    address = 0x400000 - size * (len(_partitions) + 1)
    _partitions.append(_Flash((type_, subtype, address, size, label, False), path))
    return Partition(label)


def clear_partitions():
    del _partitions[:]


class Partition:
    BOOT = 0
    RUNNING = 1
    TYPE_APP = 0
    TYPE_DATA = 1
    _BS = 4096

    def __init__(self, id, block_size=4096):
        for fl in _partitions:
            if fl.info[4] == id:
                self._fl = fl
                return
        raise OSError(2)   # ENOENT, as the firmware raises it

    @staticmethod
    def find(type=TYPE_APP, subtype=0xFF, label=None, block_size=4096):
        return [Partition(fl.info[4]) for fl in _partitions if fl.info[0] == type
                and (subtype == 0xFF or fl.info[1] == subtype)
                and (label is None or fl.info[4] == label)]

    @property
    def erases(self):
        return self._fl.erases

    @property
    def programs(self):
        return self._fl.programs

    def info(self):
        return self._fl.info

    def _range(self, a, n):
        if a < 0 or a + n > self._fl.info[3]:
            raise OSError(-0x102)   # ESP_ERR_INVALID_ARG, as check_esp_err raises it

    def readblocks(self, block_num, buf, offset=0):
        a = block_num * self._BS + offset
        self._range(a, len(buf))
        buf[:] = self._fl.get(a, len(buf))

    def writeblocks(self, block_num, buf, offset=None):
        if offset is None:   # whole blocks: erased first, as the firmware does
            for i in range(len(buf) // self._BS):
                self.ioctl(6, block_num + i)
            offset = 0
        a = block_num * self._BS + offset
        self._range(a, len(buf))
        o = int.from_bytes(self._fl.get(a, len(buf)), "little")
        if o | int.from_bytes(bytes(buf), "little") != o:
            raise OSError(5)   # a bit would have to go from 0 to 1: not without an erase
        self._fl.put(a, bytes(buf))
        self._fl.programs += 1

    def ioctl(self, cmd, arg):
        if cmd == 4:
            return self._fl.info[3] // self._BS
        if cmd == 5:
            return self._BS
        if cmd == 6:
            self._range(arg * self._BS, self._BS)
            for i in range(0, self._BS, 256):
                self._fl.put(arg * self._BS + i, b"\xff" * 256)
            self._fl.erases += 1
            return 0
        if cmd in (1, 2, 3):
            return 0
        return None
