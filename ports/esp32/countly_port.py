# countly_port.py - ESP32 platform for countly_mp (MicroPython on ESP32/S2/S3/C3 boards).
#
# Supplies what lib/countly_mp must not touch itself: metrics from the firmware and the board,
# a device id from the eFuse MAC, Wi-Fi aware connectivity, a wall clock that is only "valid"
# once NTP synced (or the RTC already holds a plausible time), ticks, the LittleFS storage
# root and the keep-alive HTTP transport (ports/common/countly_http.py).
#
# Optional hooks the core calls when present (docs/internals.md):
#   service()          start of every tick(): at most one NTP query (DNS once, then the
#                      cached address; 1 s UDP timeout) with capped backoff; True when it
#                      made one (the tick's one exchange), never raises
#   sync_pending()     online, clock not valid, NTP tried for less than ntp_hold_s
#   sleep_ms()         the RTC minus the NTP steps: counts through deep sleep, never stepped
#   woke_from_sleep()  True after a deep-sleep wake: the stored session is continued
#   session_memory()   the SDK's slot in RTC slow memory (survives deep sleep and WDT resets,
#                      not power-on), shared with the app: see _RtcMemory and app_memory()
#   ram(), disk()      (used, total) bytes of the heap and of the filesystem, for crashes
#
# Nothing happens at import or construction: machine, network, socket and ntptime are imported
# on first use, so the module also imports (and is tested) on the unix port with fake modules.
# Test seams: time_ns/epoch_year (wall clock injection) and wlan (any object with
# isconnected(), e.g. a network.LAN).

import sys
import time

_EPOCH_2000_MS = 946684800000   # 2000-01-01 minus 1970-01-01, in ms
_VALID_FROM_MS = 1704067200000  # 2024-01-01T00:00:00Z: an RTC before this was never set
_NTP_FIRST_MS = 2000            # first retry delay after a failed NTP query
_NTP_MAX_MS = 600000            # backoff cap: 10 minutes
_NTP_REDNS = 4                  # failed queries in a row after which the host is resolved again
# RTC memory (2048 bytes, one blob per chip, shared with the app):
#   [0:4]   magic b"CLY\x02"
#   [4]     n, the length of the SDK's data
#   [5:5+n] the SDK's data, ASCII: "<NTP steps since power-on, ms> <session state>"
#   [64:]   the app's bytes (app_memory(); up to 1984), exactly as the app wrote them
_RTC_MAGIC = b"CLY\x02"
_RTC_HEAD = 64                  # bytes kept for the SDK: magic, length, its data
_RTC_MAX = 2048


class Platform:
    name = "esp32"

    def __init__(self, config=None, tz_minutes=None, resume_sessions=True, storage_root=None,
                 ntp_host=None, ntp_resync_s=86400, rtc_memory=True, wlan=None,
                 time_ns=None, epoch_year=None, ring_label="countly", ring_eq_percent=50,
                 ntp_hold_s=300):
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
        # How long after the first NTP attempt sending still waits for a sync (sync_pending);
        # after it, records of a boot without a valid clock go out undated.
        self._hold_ms = int(ntp_hold_s) * 1000
        self._use_rtc_mem = rtc_memory
        self._wlan = wlan
        self._time_ns = time_ns
        self._epoch_year = epoch_year
        self._synced = False      # NTP succeeded in this boot
        self._ntp_from = None     # ticks of the last NTP attempt (None: never tried)
        self._ntp_first = None    # ticks of the first NTP attempt of this boot
        self._ntp_ip = None       # the NTP host's address, resolved once
        self._ntp_wait = 0        # ms to wait after _ntp_from before the next attempt
        self._ntp_fails = 0
        self._ntp_missing = False
        self._rtc_mem = None      # _RtcMemory once used; False: no machine.RTC
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

    # -- housekeeping (core hooks) -----------------------------------------
    def service(self):
        # Start of every tick(): one NTP query at most, only when online and due; a failure
        # doubles the wait (2 s, 4 s, ... 10 min). -> True when a query was made: that was the
        # tick's one bounded exchange (DNS for the first query, then up to ntptime's 1 s UDP
        # timeout). Never raises into tick().
        try:
            if self._ntp_missing or not self._ntp_due() or not self.is_online():
                return False   # no DNS while offline; the backoff is not consumed either
            return self._ntp_attempt()
        except Exception:
            return False

    def sync_pending(self):
        # True while a sync is plausible: online, no valid clock, and NTP either not tried yet
        # or first tried less than ntp_hold_s ago. The core holds sending meanwhile, so a
        # boot's records go out dated; after the hold they go undated (the server dates them).
        try:
            if self._synced or self._ntp_missing or not self.is_online():
                return False
            if self.epoch_ms() is not None:
                return False
            first = self._ntp_first
            return first is None or self.ticks_diff(self.ticks_ms(), first) < self._hold_ms
        except Exception:
            return False

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
            return False
        now = self._ntp_from = self.ticks_ms()
        if self._ntp_first is None:
            self._ntp_first = now
        self.ntp_queries += 1
        mem = self._rtcm()   # the NTP steps so far, read before this one
        name = ntptime.host
        try:
            ntptime.timeout = 1
            ntptime.host = self._ntp_address(self._ntp_host or name)
            t0 = self.ticks_ms()
            r0 = self._raw_ms()
            ntptime.settime()   # sets the RTC to UTC, whole seconds
            # the step: how far the RTC moved beyond the time the query took
            step = self._raw_ms() - r0 - self.ticks_diff(self.ticks_ms(), t0)
        except Exception:
            self._ntp_fails += 1
            if self._ntp_fails % _NTP_REDNS == 0:
                self._ntp_ip = None   # the cached server may be gone: resolve again
            self._ntp_wait = min(_NTP_FIRST_MS << min(self._ntp_fails - 1, 16), _NTP_MAX_MS)
            return True
        finally:
            ntptime.host = name   # the app's own ntptime calls see its setting
        self._synced = True
        self._ntp_fails = 0
        self._ntp_wait = self._resync_ms or 0
        if mem is not None:
            try:
                mem.stepped(step)
            except Exception:
                pass   # kept in memory; sleep_ms after a wake may then be off by this step
        return True

    def _ntp_address(self, name):
        # DNS once: later queries go to the cached address and need no lookup (lwIP's resolver
        # has its own timeout, which the UDP timeout does not cover).
        if self._ntp_ip is None:
            import socket

            addr = socket.getaddrinfo(name, 123)[0][-1]
            if isinstance(addr, tuple):
                self._ntp_ip = addr[0]                        # ESP32: ("a.b.c.d", 123)
            else:
                self._ntp_ip = "%d.%d.%d.%d" % tuple(addr[4:8])  # a raw sockaddr_in
        return self._ntp_ip

    def sleep_ms(self):
        # A clock that counts through deep sleep and is never stepped: the raw RTC minus the
        # NTP steps made since power-on (kept in RTC memory). None in a boot that woke without
        # them (RTC memory held the app's data, or rtc_memory=False): the core then measures
        # the time asleep on the wall clock when it was valid at both ends.
        mem = self._rtcm()
        if mem is None or mem.lost:
            return None
        return self._raw_ms() - mem.steps

    def _raw_ms(self):
        ns = self._time_ns() if self._time_ns is not None else _time_ns()
        return ns // 1000000

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
        # The SDK's slot in RTC memory, or None: the core keeps its session state in a flash
        # file instead.
        return self._rtcm() if self._use_rtc_mem else None

    def _rtcm(self):
        if self._rtc_mem is None:
            try:
                import machine

                self._rtc_mem = _RtcMemory(machine.RTC(), machine.reset_cause()
                                           == machine.DEEPSLEEP_RESET, self._use_rtc_mem)
            except Exception:
                self._rtc_mem = False   # not a board: no RTC memory, no sleep clock
        return self._rtc_mem or None

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
            print("[Warning] [Countly] [Platform] make_queue, partition %r too small for %s (%s): "
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


def app_memory():
    # The app's share of RTC memory (up to 1984 bytes) next to the SDK's slot: use it instead
    # of machine.RTC().memory() in an app that runs countly_mp.
    import machine

    return _AppMemory(machine.RTC())


def _split(blob):
    # -> (SDK data, app bytes); (b"", b"") for empty memory; None when the bytes are not in
    # the SDK's layout (the app wrote RTC memory directly).
    if not blob:
        return b"", b""
    if len(blob) < _RTC_HEAD or blob[:4] != _RTC_MAGIC or blob[4] > _RTC_HEAD - 5:
        return None
    return bytes(blob[5 : 5 + blob[4]]), bytes(blob[_RTC_HEAD:])


def _join(sdk, app):
    buf = bytearray(_RTC_HEAD + len(app))
    buf[:4] = _RTC_MAGIC
    buf[4] = len(sdk)
    buf[5 : 5 + len(sdk)] = sdk
    buf[_RTC_HEAD:] = app
    return buf


class _AppMemory:
    def __init__(self, rtc):
        self._rtc = rtc

    def read(self):
        # the app's bytes; RTC memory the app wrote directly is all the app's
        blob = self._rtc.memory()
        parts = _split(blob)
        return bytes(blob) if parts is None else parts[1]

    def write(self, data):
        if len(data) > _RTC_MAX - _RTC_HEAD:
            raise ValueError("RTC memory: %d bytes for the app at most" % (_RTC_MAX - _RTC_HEAD))
        parts = _split(self._rtc.memory())
        self._rtc.memory(_join(parts[0] if parts else b"", data))


class _RtcMemory:
    # The SDK's slot in RTC memory (layout at the top): the sum of the NTP steps since
    # power-on (for sleep_ms) and the core's session state (read()/write()). Never written
    # over bytes the SDK did not write. write() -> True only when the slot alone keeps the
    # data: its magic survived a deep-sleep wake, so the app does not overwrite RTC memory;
    # until then (and whenever the app's bytes are found there) the core keeps a flash copy.
    def __init__(self, rtc, woke, shared):
        self._rtc = rtc
        self._shared = shared   # False (rtc_memory=False): the app owns RTC memory, never written
        self._warned = False
        kept = _fields(_split(rtc.memory()) if shared else None)
        # The steps since power-on: read back when the slot survived; 0 after a power-on (the
        # RTC restarted at 2000-01-01). After a wake that lost them, counted afresh from 0, and
        # the sleep clock is unknown in this boot (its readings could not be compared with the
        # ones saved before the sleep).
        try:
            self.steps = int(kept[0]) if kept else 0
        except ValueError:
            kept = None
            self.steps = 0
        self.lost = woke and kept is None
        self.trusted = woke and kept is not None

    def stepped(self, ms):
        self.steps += ms
        self._put(None)

    def read(self):
        kept = _fields(_split(self._rtc.memory()))
        return kept[1] if kept else b""

    def write(self, data):
        return self._put(bytes(data)) and self.trusted

    def _put(self, session):
        if not self._shared:
            return False
        parts = _split(self._rtc.memory())
        if parts is None:
            self.trusted = False
            if not self._warned:
                self._warned = True
                print("[Warning] [Countly] [Platform] RTC memory holds the app's data: the "
                      "session state goes to flash. Share RTC memory through "
                      "countly_port.app_memory() or give Platform(rtc_memory=False)")
            return False
        if session is None:
            kept = _fields(parts)
            session = kept[1] if kept else b""
        sdk = b"%d %s" % (self.steps, session)
        if len(sdk) > _RTC_HEAD - 5:
            return False
        self._rtc.memory(_join(sdk, parts[1]))
        return True


def _fields(parts):
    # the SDK's data -> [steps, session state], or None when there is none
    if not parts or not parts[0]:
        return None
    f = parts[0].split(b" ", 1)
    return f if len(f) == 2 else None


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
