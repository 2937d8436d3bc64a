# countly_port.py - ESP32 platform for countly_mp (MicroPython on ESP32/S2/S3/C3 boards).
#
# Supplies what lib/countly_mp must not touch itself: metrics from the firmware and the board,
# a device id from the eFuse MAC, Wi-Fi aware connectivity, a wall clock that is only "valid"
# once NTP synced (or the RTC already holds a plausible time), ticks, the LittleFS storage
# root and the keep-alive HTTP transport (ports/common/countly_http.py).
#
# Optional hooks the core calls when present:
#   service()          start of every Countly.tick(): NTP with capped exponential backoff,
#                      at most one bounded query per call, never raises
#   woke_from_sleep()  True after a deep-sleep wake: the stored session is continued
#   session_memory()   RTC slow memory (survives deep sleep and WDT resets, not power-on),
#                      so the per-report session state costs no flash writes
#   ram(), disk()      (used, total) bytes of the heap and of the filesystem, for crashes
#
# Nothing happens at import or construction: machine, network and ntptime are imported on
# first use, so the module also imports (and is tested) on the unix port with fake modules.
# Test seams: time_ns/epoch_year (wall clock injection) and wlan (any object with
# isconnected(), e.g. a network.LAN).

import sys
import time

_EPOCH_2000_MS = 946684800000   # 2000-01-01 minus 1970-01-01, in ms
_VALID_FROM_MS = 1704067200000  # 2024-01-01T00:00:00Z: an RTC before this was never set
_NTP_FIRST_MS = 2000            # first retry delay after a failed NTP query
_NTP_MAX_MS = 600000            # backoff cap: 10 minutes
_RTC_MAGIC = b"CLY1"            # marks RTC memory as ours: it is shared with the app


class Platform:
    name = "esp32"

    def __init__(self, config=None, tz_minutes=None, resume_sessions=True, storage_root=None,
                 ntp_host=None, ntp_resync_s=86400, rtc_memory=True, wlan=None,
                 time_ns=None, epoch_year=None, ring_label="countly", ring_eq_percent=50):
        self._config = config
        # Queues on a raw data partition with this label when the partition table has one
        # (docs/ring.md); None: always LittleFS. ring_eq_percent: the event queue's share.
        self._ring_label = ring_label
        self._ring_eq = ring_eq_percent
        if tz_minutes is None:
            tz_minutes = _config_get(config, "tz_minutes")
        self._tz = int(tz_minutes or 0)   # no tz database on a board: UTC unless told
        self._resume = resume_sessions
        self._root = storage_root
        self._ntp_host = ntp_host
        # The RTC drifts (seconds a day awake, much more on the RC clock in deep sleep), so a
        # synced board re-syncs once a day; 0 or None: sync once per boot only.
        self._resync_ms = int(ntp_resync_s) * 1000 if ntp_resync_s else None
        self._use_rtc_mem = rtc_memory
        self._wlan = wlan
        self._time_ns = time_ns
        self._epoch_year = epoch_year
        self._synced = False      # NTP succeeded in this boot
        self._ntp_from = None     # ticks of the last NTP attempt (None: never tried)
        self._ntp_wait = 0        # ms to wait after _ntp_from before the next attempt
        self._ntp_fails = 0
        self._ntp_missing = False
        self._rtc_mem = None
        self.ntp_queries = 0      # NTP queries made (tests, diagnostics)

    # -- identity ----------------------------------------------------------
    def metrics(self):
        m = {"_os": "MicroPython"}
        rel = _uname("release")
        if not rel:
            rel = ".".join(str(v) for v in sys.implementation.version[:3])
        m["_os_version"] = rel
        # e.g. "Generic ESP32 module with ESP32"; the unix port has no os.uname
        m["_device"] = _uname("machine") or getattr(sys.implementation, "_machine", "esp32")
        return m

    def generate_device_id(self):
        # The eFuse base MAC: stable across reflashing, unique per chip. The core persists it.
        try:
            import machine

            uid = machine.unique_id()
        except (ImportError, AttributeError):
            import os

            uid = os.urandom(6)
        return "esp32-" + "".join("%02x" % b for b in uid)

    def is_online(self):
        # Connected with an IP. The core never does DNS or connect while this is False, which
        # is what keeps tick() from blocking on a dead link (micropython#18797).
        try:
            w = self._wlan
            if w is None:
                import network

                w = self._wlan = network.WLAN(network.STA_IF)
            return bool(w.isconnected())
        except Exception:
            return False

    # -- time --------------------------------------------------------------
    def epoch_ms(self):
        ns = self._time_ns() if self._time_ns is not None else _time_ns()
        ms = ns // 1000000          # int arithmetic: ESP32 floats are single precision
        if self._epoch_2000():
            ms += _EPOCH_2000_MS
        if ms < _VALID_FROM_MS and not self._synced:
            return None             # RTC still counting from 2000 since power-on
        return ms

    def _epoch_2000(self):
        y = self._epoch_year
        if y is None:
            y = self._epoch_year = time.gmtime(0)[0]
        return y == 2000

    def ticks_ms(self):
        return time.ticks_ms()

    def ticks_diff(self, a, b):
        return time.ticks_diff(a, b)

    def tz_minutes(self):
        return self._tz

    def synced(self):
        return self._synced

    # -- housekeeping (core hook) -------------------------------------------
    def service(self):
        # Called at the start of every tick(): one NTP query at most, only when online and
        # due; a failure doubles the wait (2 s, 4 s, ... 10 min). Never raises into tick().
        try:
            if self._ntp_missing or not self._ntp_due():
                return
            if not self.is_online():
                return   # no DNS while offline; the backoff is not consumed either
            self._ntp_attempt()
        except Exception:
            pass

    def _ntp_due(self):
        if self._ntp_from is None:
            return True
        if self._synced and self._resync_ms is None:
            return False
        return self.ticks_diff(self.ticks_ms(), self._ntp_from) >= self._ntp_wait

    def _ntp_attempt(self):
        try:
            import ntptime
        except ImportError:
            self._ntp_missing = True   # firmware without ntptime: rely on the RTC
            return
        self._ntp_from = self.ticks_ms()
        self.ntp_queries += 1
        try:
            # ntptime waits ntptime.timeout (1 s) for the UDP answer; its DNS lookup is not
            # covered: give ntp_host as an IP address where DNS may hang.
            ntptime.timeout = 1
            if self._ntp_host:
                ntptime.host = self._ntp_host
            ntptime.settime()   # sets the RTC to UTC, whole seconds
        except Exception:
            self._ntp_fails += 1
            self._ntp_wait = min(_NTP_FIRST_MS << min(self._ntp_fails - 1, 16), _NTP_MAX_MS)
            return
        self._synced = True
        self._ntp_fails = 0
        self._ntp_wait = self._resync_ms or 0

    # -- deep sleep (core hooks) --------------------------------------------
    def woke_from_sleep(self):
        if not self._resume:
            return False
        try:
            import machine

            return machine.reset_cause() == machine.DEEPSLEEP_RESET
        except Exception:
            return False

    def session_memory(self):
        # None: the core keeps its session state in a flash file instead.
        if not self._use_rtc_mem:
            return None
        if self._rtc_mem is None:
            try:
                import machine

                self._rtc_mem = _RtcMemory(machine.RTC())
            except Exception:
                self._use_rtc_mem = False
                return None
        return self._rtc_mem

    def ram(self):
        # (used, total) bytes of the Python heap, for crash reports (the core sends MB).
        try:
            import gc

            used = gc.mem_alloc()
            # On ESP32 mem_free includes the largest free IDF block (PR #12366): an upper bound
            return used, used + gc.mem_free()
        except Exception:
            return None

    def disk(self):
        # (used, total) bytes of the filesystem that holds the queues.
        return _statvfs(self.storage_root())

    # -- storage -----------------------------------------------------------
    def storage_root(self):
        root = (self._root or "/countly").rstrip("/") or "/"
        import os

        try:
            os.mkdir(root)    # one level: the LittleFS root always exists
        except OSError:
            pass              # EEXIST; anything worse shows when the core opens a file
        return root

    def make_queue(self, name, capacity, max_item, store=None):
        # Core hook: a RingQueue for "rq"/"eq" in its share of the `countly` data partition,
        # or None (no such partition, or too small): the core then uses LittleFS.
        if not self._ring_label:
            return None
        try:
            import esp32

            parts = esp32.Partition.find(esp32.Partition.TYPE_DATA, label=self._ring_label)
        except (ImportError, AttributeError):
            return None   # not an ESP32 firmware
        if not parts:
            return None
        from countly_mp.ringformat import split
        from countly_mp.ringqueue import RingQueue

        dev = parts[0]
        regions = split(dev.ioctl(4, 0), self._ring_eq)
        tag = getattr(store, "dir", None)
        try:
            if regions is None:
                raise ValueError("%d sectors" % dev.ioctl(4, 0))
            first, n = regions[1 if name == "eq" else 0]
            return RingQueue(dev, first, n, capacity=capacity, max_item=max_item,
                             tag=tag.encode() if tag else None)
        except ValueError as e:
            print("W [Countly] [Platform] make_queue, partition %r too small for %s (%s): "
                  "using LittleFS" % (self._ring_label, name, e))
            return None

    # -- network -----------------------------------------------------------
    def transport(self, server_url, timeout_ms, tls_verify=None, ca_data=None):
        # The board has no CA bundle. tls_verify None (default): verify when ca_data is
        # given, else an https connection is encrypted but unverified and the transport says
        # so (insecure=True; the core prints the warning). tls_verify=True without ca_data
        # cannot be honoured: ValueError, never a silent downgrade.
        import countly_http

        return countly_http.HTTPClient(server_url, timeout_ms,
                                       **_tls_args(server_url, tls_verify, ca_data))

    def async_transport(self, server_url, timeout_ms, tls_verify=None, ca_data=None):
        # asyncio twin of transport(), same TLS rule
        import countly_aio_http

        return countly_aio_http.AsyncHTTPClient(server_url, timeout_ms,
                                                **_tls_args(server_url, tls_verify, ca_data))


def _tls_args(server_url, tls_verify, ca_data):
    if tls_verify is None:
        tls_verify = ca_data is not None
    if tls_verify and ca_data is None and server_url.startswith("https"):
        raise ValueError("tls_verify=True needs ca_data (the server's CA certificate, PEM or "
                         "DER): there is no CA bundle on the board")
    return {"tls_verify": tls_verify, "ca_data": ca_data}


class _RtcMemory:
    # The core's session state in RTC slow memory (2048 B). A magic prefix tells our data
    # from the app's or from garbage, so a foreign value reads as "empty".
    def __init__(self, rtc):
        self._rtc = rtc

    def read(self):
        raw = bytes(self._rtc.memory())
        if raw[:4] != _RTC_MAGIC:
            return b""
        return raw[4:]

    def write(self, data):
        self._rtc.memory(_RTC_MAGIC + bytes(data))


def _statvfs(path):
    try:
        import os

        st = os.statvfs(path)
        return (st[2] - st[3]) * st[0], st[2] * st[0]  # (blocks - free) * size, blocks * size
    except Exception:
        return None


def _time_ns():
    f = getattr(time, "time_ns", None)
    if f is not None:
        return f()
    return int(time.time()) * 1000000000   # old firmware: second resolution


def _uname(field):
    try:
        import os

        return getattr(os.uname(), field)
    except (AttributeError, OSError):
        return None


def _config_get(config, key):
    if config is None:
        return None
    if isinstance(config, dict):
        return config.get(key)
    return getattr(config, key, None)
