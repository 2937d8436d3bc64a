# clock.py - integer-millisecond time for requests and events.
# Wall time comes from the port (epoch ms, or None while the clock is not valid yet, e.g. an ESP32
# before NTP); durations use the port's monotonic ticks so a clock step cannot make them negative.

_MS_PER_DAY = 86400000
_MS_PER_HOUR = 3600000


class Clock:
    def __init__(self, platform):
        self._p = platform
        self._last = 0

    def valid(self):
        return self._p.epoch_ms() is not None

    def now_ms(self):
        # A unique, strictly increasing timestamp: two records in the same millisecond would
        # otherwise look like one duplicate request to the server's dedup (protocol.md 10).
        now = self._p.epoch_ms()
        if now is None:
            return None
        if now <= self._last:
            now = self._last + 1
        self._last = now
        return now

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
