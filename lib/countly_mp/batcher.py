# batcher.py - recorded events become events requests, each closed before it outgrows the budget.
#
# Every recorded event is one item of the event queue (eq) on flash. An events request does not
# copy them: it is a small record in the request queue (rq) flagged R<a>-<b>, and its `events`
# value is built at send time from eq items a..b (sender.py). So an event is written to flash
# once, and a batch is only ever as big as REQUEST_MAX allows: the open batch is closed before
# the next event would push it over, whatever event_queue_threshold says.
#
# Which events are already claimed by a request is never kept in a file of its own: every rq
# record carries C<seq> (request.py), so after a restart the newest rq record tells. An events
# request leaves rq only after its events left eq (delivered, dropped, or orphaned by a dropped
# request), so eq never keeps an event no request will ever carry.

from .request import HOUR_GROWTH, RETIME_GROWTH
from .wire import encoded_len

_BRACKETS = 6  # "%5B" + "%5D" around the encoded array
_COMMA = 3  # "%2C" between two events
_MARKER = b'"timestamp":"U'  # an event recorded before the clock was valid (request.retime)


def event_size(data):
    # Encoded bytes one event adds to an events request, its send-time timestamp included.
    n = encoded_len(data)
    if _MARKER in data:
        n += RETIME_GROWTH
    elif data.rfind(b',"hour":') < data.rfind(b',"timestamp":'):
        # stored with the timestamp last (a segmentation key may be "hour"): hour and dow are
        # added at send, request.hour_dow_tail
        n += HOUR_GROWTH
    return n


class Batcher:
    def __init__(self, core):
        self._core = core
        self.claimed = 0  # newest eq seq already in an events request
        self.first = 0  # the open batch: first and last eq seq, event count, encoded size
        self.last = 0
        self.count = 0
        self.size = 0
        self.since = core.clock.ticks()  # the open batch's age counts from here

    def budget(self):
        # Encoded bytes the events of one request may take.
        return self._core.builder.room("events") - _BRACKETS

    def note(self, seq, size):
        if self.count and self.size + _COMMA + size > self.budget():
            self.close()
        if not self.count:
            self.first = seq
            self.size = size
        else:
            self.size += _COMMA + size
        self.last = seq
        self.count += 1
        if self.count >= self._core.config.event_queue_threshold:
            self.close()

    def add(self, data, size):
        # Persists one event (room is made on a full flash) and closes the batch when due.
        # -> True when the event is on flash.
        core = self._core
        if self.count and self.size + _COMMA + size > self.budget():
            self.close()  # the batch is complete before this event: it goes in the next one
        self.note(core.store_item(core.event_queue, data), size)
        return True

    def close(self):
        # The open batch becomes an events request. Raises when it cannot be queued: the batch
        # then stays open and is retried by the next close.
        if not self.count:
            return False
        if not self._core.enqueue(b"events=", flags=("R%d-%d" % (self.first, self.last),),
                                  claimed=self.last):
            return False  # not queued: the batch stays open, its events unclaimed
        self.claimed = self.last
        self.count = self.size = 0
        self.since = self._core.clock.ticks()
        return True

    def due(self):
        core = self._core
        return self.count > 0 and (
            core.clock.since(self.since) >= core.config.event_flush_interval * 1000)
