# clock.py - integer-millisecond time for requests and events.
# Wall time comes from the port (epoch ms, or None while the clock is not valid yet, e.g. an ESP32
# before NTP); durations use the port's monotonic ticks so a clock step cannot make them negative.
#
# What is recorded before the wall clock is valid carries a marker "U<boot>:<ticks>" instead of
# a timestamp. Once the clock is valid in the same boot, the first valid reading anchors ticks
# to epoch time and every marker of this boot converts through that one anchor, so a retry of
# the same record always gets the same timestamp (byte-identical, as the server's dedup needs).

from .compat import urandom

_MS_PER_DAY = 86400000
_MS_PER_HOUR = 3600000


class Clock:
    def __init__(self, platform):
        self._p = platform
        self._last = 0
        self._anchor = None  # (epoch ms, ticks) of the first valid reading in this boot
        # Distinguishes this boot's tick markers from those of an earlier boot, whose ticks
        # count from another origin and can never be converted.
        self.boot = "".join("%02x" % b for b in urandom(4))

    def valid(self):
        return self._p.epoch_ms() is not None

    def now_ms(self):
        # A unique, strictly increasing timestamp: two records in the same millisecond would
        # otherwise look like one duplicate request to the server's dedup.
        now = self._p.epoch_ms()
        if now is None:
            return None
        if self._anchor is None:
            self._anchor = (now, self._p.ticks_ms())
        if now <= self._last:
            now = self._last + 1
        self._last = now
        return now

    def marker(self):
        # Stands in for a timestamp while the clock is not valid.
        return "U%s:%d" % (self.boot, self._p.ticks_ms())

    def epoch_of_marker(self, marker):
        # The epoch ms of a marker, or None when it belongs to another boot or no valid time
        # has been seen in this boot yet.
        if not marker.startswith("U"):
            return None
        i = marker.find(":")
        if i < 0 or marker[1:i] != self.boot:
            return None
        if self._anchor is None and self.now_ms() is None:
            return None
        try:
            ticks = int(marker[i + 1 :])
        except ValueError:
            return None
        return self._anchor[0] + self._p.ticks_diff(ticks, self._anchor[1])

    def ticks(self):
        return self._p.ticks_ms()

    def since(self, start_ticks):
        return self._p.ticks_diff(self._p.ticks_ms(), start_ticks)

    def tz(self):
        return self._p.tz_minutes()

    def hour_dow(self, epoch_ms, tz_minutes):
        # Local hour (0-23) and day of week (Sunday = 0), integer arithmetic only so the answer
        # is the same on a single-precision-float ESP32. 1970-01-01 was a Thursday (4).
        local = epoch_ms + tz_minutes * 60000
        days = local // _MS_PER_DAY
        hour = (local % _MS_PER_DAY) // _MS_PER_HOUR
        return hour, (days + 4) % 7
