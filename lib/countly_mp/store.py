# store.py - the per-app storage folder, its small key files (device ID, session state) and
# the space reserve that keeps them and the queue cursors writable on a full flash or disk.
#
# Small values are replaced whole by writing a temporary file and renaming it over the old one:
# littlefs renames atomically, so a power cut leaves either the old or the new value.
# Checked files (write_checked/read_checked) also carry a length and a crc32, so a damaged
# value reads as None (counted in Store.corrupt) instead of as wrong bytes.
#
# Reserve: one block-sized file, "reserve", created when space allows. A critical write (a
# queue's ack cursor, Store.write) that fails for lack of space deletes it and tries once more,
# so acks and the device ID still persist when queued data has filled the storage. The queues
# recreate it when they free a segment; Store recreates it when opened.

import os

from .compat import is_missing
from .compat import sha1_hex
from .fsformat import as_nospc, checked, is_nospc, parse_checked


def makedirs(path, fs=os):
    # os.makedirs and os.path do not exist on MicroPython.
    built = ""
    for part in path.split("/"):
        if not part:
            built = "/" if not built else built
            continue
        built = part if built == "" else (built.rstrip("/") + "/" + part)
        try:
            fs.mkdir(built)
        except OSError:
            pass  # exists already (EEXIST) or a parent we may not create; open() will tell


def close_quietly(f):
    # After a failed write the file may fail to close too; the write's error is the one to raise.
    try:
        f.close()
    except OSError:
        pass


def remove_quietly(fs, path):
    # True when the file is gone (also when it was never there), False when storage is too full
    # to record the removal. Any other error propagates: after a failed write (a dying flash, a
    # power cut) nothing more is written, as littlefs's program cache may still hold the
    # failed commit and the next write would trip over it.
    try:
        fs.remove(path)
        return True
    except OSError as e:
        if is_missing(e):
            return True
        if is_nospc(e):
            return False
        raise


class Reserve:
    def __init__(self, root, fs=None):
        self.path = root.rstrip("/") + "/reserve"
        self._os = os if fs is None else fs
        self._open = open if fs is None else fs.open
        self.released = False  # ensure() recreates only what this object gave up

    def release(self):
        # Frees the reserve's space; False when there was none to free.
        try:
            self._os.remove(self.path)
        except OSError as e:
            if is_missing(e) or is_nospc(e):
                return False
            raise
        self.released = True
        return True

    def ensure(self):
        if not self.released:
            return
        try:
            self._os.stat(self.path)
            self.released = False
            return
        except OSError:
            pass
        f = None
        try:
            f = self._open(self.path, "wb")
            chunk = bytes(256)
            for _ in range(16):  # one 4 KiB block
                f.write(chunk)
            f.flush()
            f.close()
            self.released = False
        except OSError as e:
            if f is not None:
                close_quietly(f)
            if not is_nospc(e):
                raise
            remove_quietly(self._os, self.path)  # a partial reserve would only confuse


class Store:
    def __init__(self, root, app_key, fs=None):
        # Queues are kept apart per app key (the guide), under a hash so the key never appears
        # in a file name. fs: an os-like object (open, mkdir, rename, remove, listdir, stat)
        # when the files live somewhere the os module does not reach, e.g. a test flash image.
        self.fs = fs
        self._os = os if fs is None else fs
        self._open = open if fs is None else fs.open
        self.dir = "%s/%s" % (root.rstrip("/"), sha1_hex(app_key.encode())[:12])
        self.corrupt = 0
        makedirs(self.dir, self._os)
        for name in self._os.listdir(self.dir):
            if name.endswith(".tmp"):  # a cut between a write and its rename
                remove_quietly(self._os, self.path(name))
        self.reserve = Reserve(self.dir, fs)
        self.reserve.released = True
        self.reserve.ensure()

    def path(self, name):
        return "%s/%s" % (self.dir, name)

    def read(self, name):
        try:
            with self._open(self.path(name), "rb") as f:
                return f.read()
        except OSError as e:
            if is_missing(e):
                return None
            raise

    def write(self, name, data):
        # Durable when it returns; the old value stays whole when it raises. Full storage: the
        # reserve is given up once for it, then OSError(ENOSPC).
        tmp = self.path(name + ".tmp")
        retry = True
        while True:
            f = None
            try:
                f = self._open(tmp, "wb")
                f.write(data)
                f.flush()
                f.close()
                f = None
                self._os.rename(tmp, self.path(name))
                return
            except OSError as e:
                if f is not None:
                    close_quietly(f)
                if not is_nospc(e):
                    raise
                remove_quietly(self._os, tmp)  # never leave a half-written temporary behind
                if not (retry and self.reserve.release()):
                    raise as_nospc(e)
                retry = False

    def write_checked(self, name, data):
        self.write(name, checked(data))

    def read_checked(self, name):
        # The data, or None when missing or damaged (damage counted in self.corrupt).
        raw = self.read(name)
        if raw is None:
            return None
        data = parse_checked(raw)
        if data is None:
            self.corrupt += 1
        return data

    def remove(self, name):
        try:
            self._os.remove(self.path(name))
        except OSError:
            pass
