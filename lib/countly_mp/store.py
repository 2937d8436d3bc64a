# store.py - the per-app storage folder and its small key files (device ID, session state).
# Small values are replaced whole by writing a temporary file and renaming it over the old one:
# littlefs renames atomically, so a power cut leaves either the old or the new value.

import os

from .compat import is_missing, sha1_hex


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


class Store:
    def __init__(self, root, app_key, fs=None):
        # Queues are kept apart per app key (the guide), under a hash so the key never appears
        # in a file name. fs: an os-like object (open, mkdir, rename, remove, listdir, stat)
        # when the files live somewhere the os module does not reach, e.g. a test flash image.
        self.fs = fs
        self._os = os if fs is None else fs
        self._open = open if fs is None else fs.open
        self.dir = "%s/%s" % (root.rstrip("/"), sha1_hex(app_key.encode())[:12])
        makedirs(self.dir, self._os)

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
        tmp = self.path(name + ".tmp")
        with self._open(tmp, "wb") as f:
            f.write(data)
            f.flush()
        self._os.rename(tmp, self.path(name))

    def remove(self, name):
        try:
            self._os.remove(self.path(name))
        except OSError:
            pass
