# clock.py - integer-millisecond time for requests and events.
# Wall time comes from the port (epoch ms, or None while the clock is not valid yet, e.g. an ESP32
# before NTP); durations use the port's monotonic ticks so a clock step cannot make them negative.
#
# What is recorded before the wall clock is valid carries a marker "U<boot>:<ticks>" instead of
# a timestamp. Once the clock is valid in the same boot, the first valid reading anchors ticks
# to epoch time and every marker of this boot converts through that one anchor, so a retry of
# the same record always gets the same timestamp (byte-identical, as the server's dedup needs).
# The anchor of a boot that made markers is kept on flash (settle(), from tick()), so records
# of that boot that are still queued when the board resets or wakes from deep sleep are dated
# by a later boot too. The newest _KEEP anchors are kept.

from .compat import urandom

_MS_PER_DAY = 86400000
_MS_PER_HOUR = 3600000
_KEEP = 16  # boots whose anchor stays on flash
_FILE = "anchors"


class Clock:
    def __init__(self, platform, store=None):
        self._p = platform
        self._store = store
        self._last = 0
        self._anchor = None  # (epoch ms, ticks) of the first valid reading in this boot
        self._marked = False  # a marker was handed out in this boot
        self._kept = False  # this boot's anchor is on flash
        self._others = None  # [(boot, epoch ms, ticks)] of earlier boots, oldest first
        # Distinguishes this boot's tick markers from those of an earlier boot, whose ticks
        # count from another origin and are converted through that boot's stored anchor.
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
        self._marked = True
        return "U%s:%d" % (self.boot, self._p.ticks_ms())

    def epoch_of_marker(self, marker):
        # The epoch ms of a marker, or None when its boot never had a valid clock (or its
        # anchor is no longer kept): the server then dates the record at arrival.
        if not marker.startswith("U"):
            return None
        i = marker.find(":")
        if i < 0:
            return None
        boot = marker[1:i]
        if boot == self.boot:
            if self._anchor is None and self.now_ms() is None:
                return None
            anchor = self._anchor
        else:
            anchor = None
            for kept in self._stored():
                if kept[0] == boot:
                    anchor = kept[1:]
            if anchor is None:
                return None
        try:
            ticks = int(marker[i + 1 :])
        except ValueError:
            return None
        return anchor[0] + self._p.ticks_diff(ticks, anchor[1])

    def settle(self):
        # From tick(): once the clock is valid in a boot that handed out markers, its anchor
        # goes to flash (one write per such boot). Raises on a storage error: tried again by
        # the next tick.
        if self._kept or not self._marked or self._store is None:
            return
        if self._anchor is None and self.now_ms() is None:
            return
        lines = ["%s %d %d" % kept for kept in self._stored()[-(_KEEP - 1):]]
        lines.append("%s %d %d" % (self.boot, self._anchor[0], self._anchor[1]))
        self._store.write_checked(_FILE, "\n".join(lines).encode())
        self._kept = True

    def _stored(self):
        if self._others is None:
            others = []
            raw = self._store.read_checked(_FILE) if self._store is not None else None
            for line in (raw or b"").decode().split("\n"):
                parts = line.split()
                if len(parts) == 3:
                    others.append((parts[0], int(parts[1]), int(parts[2])))
            self._others = others
        return self._others

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
