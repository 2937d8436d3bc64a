# countly_port.py - unix/host platform for countly_mp (CPython and unix MicroPython).
#
# Supplies what lib/countly_mp must not touch itself: metrics, device id
# generation, connectivity, wall clock and ticks, storage root and the HTTP
# transport. Construction does no I/O; everything is read at call time so
# freezegun (CPython tests) and env changes are honoured.
#
# Transports (Platform.transport):
#   default         countly_http.HTTPClient: HTTP/1.1 keep-alive, one
#                   persistent connection, chunked bodies, TLS verified by
#                   default on CPython and MicroPython (see countly_http_wire.py
#                   for the policy). async_transport() gives the asyncio twin
#                   (countly_aio_http.AsyncHTTPClient).
#   http="requests" RequestsTransport over micropython-lib `requests` (or
#                   CPython requests if installed). It CANNOT keep connections
#                   alive: released firmware's requests speaks HTTP/1.0 with
#                   Connection: close, so every exchange opens a new TCP (and
#                   TLS) connection; it also raises on chunked bodies and
#                   never verifies certificates on MicroPython (lib#838), so
#                   there https needs tls_verify=False.

import errno
import os
import sys
import time

_MP = sys.implementation.name == "micropython"
_EPOCH_2000_MS = 946684800000   # 2000-01-01 minus 1970-01-01, in ms
_VALID_FROM_MS = 1704067200000  # 2024-01-01T00:00:00Z: earlier clocks are unset
_LEVEL_NAMES = ("", "Error", "Warning", "Info", "Debug", "Verbose")
_LOGGING_LEVELS = (0, 40, 30, 20, 10, 5)  # logging.ERROR ... DEBUG, and 5 for verbose


class Platform:
    name = "unix"

    def __init__(self, config=None, storage_root=None, http=None, queue=None, ring_path=None,
                 ring_blocks=None):
        self._config = config
        self._storage_root = storage_root
        if http is None:
            http = _config_get(config, "http")
        self._http = http or "keepalive"
        # queue="ring" (or COUNTLY_QUEUE=ring): RingQueues in a pre-allocated block file,
        # ring_path (COUNTLY_RING_PATH, default <storage root>/ring.img) of ring_blocks 4 KiB
        # blocks (COUNTLY_RING_BLOCKS, default 64); otherwise the core's file queues.
        self._queue = queue
        self._ring_path = ring_path
        self._ring_blocks = ring_blocks
        self._ring_dev = None

    # -- identity ----------------------------------------------------------
    def metrics(self):
        m = {"_os": _os_name()}
        rel = _uname_field("release")
        if rel is None:
            rel = _read_small("/proc/sys/kernel/osrelease")
        if rel:
            m["_os_version"] = rel
        dev = _uname_field("machine")
        if dev is None:
            dev = _read_small("/proc/sys/kernel/arch")
        m["_device"] = dev or "unix"
        return m

    def generate_device_id(self):
        b = bytearray(os.urandom(16))
        b[6] = (b[6] & 0x0F) | 0x40   # version 4
        b[8] = (b[8] & 0x3F) | 0x80   # RFC 4122 variant
        import binascii
        h = binascii.hexlify(bytes(b)).decode()
        return "%s-%s-%s-%s-%s" % (h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])

    def is_online(self):
        return True

    def log_sink(self, level, line):
        # Where the SDK's printed lines go. On CPython: the `logging` module, logger
        # "countly_mp", levels mapped (1 error ... 5 verbose), so an app's logging setup
        # decides; with none configured Python still shows warnings and errors on stderr. On
        # MicroPython: print(), as on a board.
        if _MP:
            print("[%s] %s" % (_LEVEL_NAMES[level], line))
            return
        import logging

        logging.getLogger("countly_mp").log(_LOGGING_LEVELS[level], line)

    def ram(self):
        # (used, total) bytes for crash reports (the core sends MB): the heap on MicroPython,
        # the machine's memory on CPython.
        if _MP:
            import gc

            used = gc.mem_alloc()
            return used, used + gc.mem_free()
        info = {}
        try:
            with open("/proc/meminfo") as f:
                for line in f:
                    k, v = line.split(":", 1)
                    info[k] = int(v.split()[0]) * 1024
            return info["MemTotal"] - info["MemAvailable"], info["MemTotal"]
        except (OSError, KeyError, ValueError):
            return None

    def disk(self):
        # (used, total) bytes of the filesystem that holds the queues.
        try:
            st = os.statvfs(self.storage_root())
            return (st[2] - st[3]) * st[0], st[2] * st[0]
        except (OSError, AttributeError):
            return None

    # -- time --------------------------------------------------------------
    def epoch_ms(self):
        if _MP:
            ms = time.time_ns() // 1000000
            if time.gmtime(0)[0] == 2000:   # esp32-style epoch
                ms += _EPOCH_2000_MS
        else:
            ms = int(time.time() * 1000)
        if ms < _VALID_FROM_MS:
            return None
        return ms

    def ticks_ms(self):
        if _MP:
            return time.ticks_ms()
        return int(time.monotonic() * 1000)

    def ticks_diff(self, a, b):
        """a - b in ms, wrap-safe on MicroPython."""
        if _MP:
            return time.ticks_diff(a, b)
        return a - b

    def tz_minutes(self):
        env = os.getenv("COUNTLY_TZ_MINUTES")
        if env:
            try:
                return int(env)
            except ValueError:
                pass
        if _MP:
            return 0   # no tz database on MicroPython
        lt = time.localtime()
        off = getattr(lt, "tm_gmtoff", None)
        if off is None:
            off = -(time.altzone if (time.daylight and lt.tm_isdst > 0) else time.timezone)
        return int(off) // 60

    # -- storage -----------------------------------------------------------
    def storage_root(self):
        root = self._storage_root or os.getenv("COUNTLY_STORAGE")
        if not root:
            home = os.getenv("HOME") or ""
            root = home.rstrip("/") + "/.countly_mp" if home else ".countly_mp"
        root = root.rstrip("/") or "/"
        _makedirs(root)
        return root

    def make_queue(self, name, capacity, max_item, store=None):
        # Core hook: a RingQueue for "rq"/"eq" when the ring is selected, else None.
        if (self._queue or os.getenv("COUNTLY_QUEUE")) != "ring":
            return None
        import countly_blockfile

        if self._ring_dev is None:
            path = (self._ring_path or os.getenv("COUNTLY_RING_PATH")
                    or self.storage_root() + "/ring.img")
            blocks = int(self._ring_blocks or os.getenv("COUNTLY_RING_BLOCKS") or 64)
            self._ring_dev = countly_blockfile.BlockFile(path, blocks)
        try:
            return countly_blockfile.ring_queue(self._ring_dev, name, capacity, max_item, store)
        except ValueError as e:
            print("[Warning] [Countly] [Platform] make_queue, no ring for %s (%s): using files"
                  % (name, e))
            return None

    # -- network -----------------------------------------------------------
    def transport(self, server_url, timeout_ms, tls_verify=True, ca_data=None):
        # tls_verify None (the Config default) means verify: the host has a CA store (the
        # system store on CPython, the system CA bundle file on MicroPython). Where nothing
        # can verify, the transport raises ValueError here instead of connecting unverified.
        if tls_verify is None:
            tls_verify = True
        if self._http == "requests":
            return RequestsTransport(server_url, timeout_ms, tls_verify, ca_data)
        import countly_http
        return countly_http.HTTPClient(server_url, timeout_ms, tls_verify=tls_verify,
                                       ca_data=ca_data)

    def async_transport(self, server_url, timeout_ms, tls_verify=True, ca_data=None):
        # asyncio twin of transport(), same TLS policy; http="requests" has no asyncio form
        if tls_verify is None:
            tls_verify = True
        import countly_aio_http
        return countly_aio_http.AsyncHTTPClient(server_url, timeout_ms, tls_verify=tls_verify,
                                                ca_data=ca_data)


class RequestsTransport:
    """Same interface as countly_http.HTTPClient over `requests`.

    One connection per exchange (requests cannot keep alive); the response is
    always closed, even when reading it fails, so sockets do not leak. TLS: on
    MicroPython requests never verifies certificates (lib#838), so https with
    tls_verify=True raises ValueError here; on CPython it verifies with the
    system store, and ca_data (which requests takes only as a file) raises
    ValueError too. The body is cut at max_body after it was read whole."""

    def __init__(self, server_url, timeout_ms, tls_verify=True, ca_data=None,
                 max_body=4096):
        self.base = server_url.rstrip("/")
        self.timeout_ms = int(timeout_ms)
        self.tls_verify = tls_verify
        self.ca_data = ca_data
        self.max_body = int(max_body)
        self.connections = 0
        self.exchanges = 0
        self.truncated = False
        https = server_url.startswith("https")
        self.insecure = https and tls_verify is False
        if https and tls_verify is not False:
            if _MP:
                raise ValueError("http='requests' cannot verify TLS on MicroPython: use the "
                                 "default transport or tls_verify=False")
            if ca_data is not None:
                raise ValueError("http='requests' cannot use ca_data: use the default "
                                 "transport")
        self.verified = (not self.insecure) if https else None

    def exchange(self, method, path, body=None, content_type=None, max_body=None):
        import requests
        headers = {}
        if content_type:
            headers["Content-Type"] = content_type
        if not path.startswith("/"):
            path = "/" + path
        kw = {"data": body, "headers": headers, "timeout": self.timeout_ms / 1000}
        if not _MP:
            kw["verify"] = self.tls_verify is not False
        r = None
        self.connections += 1
        self.truncated = False
        try:
            r = requests.request(method, self.base + path, **kw)
            status = int(r.status_code)
            data = r.content
            ra = _header(r.headers, "retry-after")
        except OSError:
            raise
        except Exception as e:
            # ValueError (bad status line, chunked) and library-specific errors
            raise OSError(errno.EIO, "%s: %s" % (type(e).__name__, e))
        finally:
            if r is not None:
                try:
                    r.close()
                except Exception:
                    pass
        cap = self.max_body if max_body is None else int(max_body)
        if len(data) > cap:
            data = data[:cap]
            self.truncated = True
        self.exchanges += 1
        return status, _retry_after(ra), data

    def close(self):
        pass   # nothing persistent


def _header(headers, name):
    if not headers:
        return None
    for k in headers:
        if k.lower() == name:
            v = headers[k]
            return v.decode() if isinstance(v, bytes) else v
    return None


def _retry_after(v):
    if v is None:
        return None
    try:
        n = int(v.strip())
    except ValueError:
        return None
    return n if n >= 0 else 0


def _config_get(config, key):
    if config is None:
        return None
    if isinstance(config, dict):
        return config.get(key)
    return getattr(config, key, None)


def _os_name():
    p = sys.platform
    if p.startswith("linux"):
        return "Linux"
    if p == "darwin":
        return "macOS"
    if p in ("win32", "cygwin"):
        return "Windows"
    if "bsd" in p:
        return "BSD"
    return p


def _uname_field(field):
    try:
        return getattr(os.uname(), field)
    except (AttributeError, OSError):
        return None   # unix MicroPython has no os.uname


def _read_small(path):
    try:
        with open(path) as f:
            return f.read(64).strip() or None
    except OSError:
        return None


def _makedirs(path):
    # os.path/os.makedirs are missing on MicroPython: walk the components
    cur = "/" if path.startswith("/") else ""
    for part in path.split("/"):
        if not part:
            continue
        cur = cur + part if (not cur or cur.endswith("/")) else cur + "/" + part
        try:
            os.mkdir(cur)
        except OSError as e:
            if e.args[0] != errno.EEXIST:
                raise
