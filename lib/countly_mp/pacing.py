# pacing.py - two send-path rules the server configuration tunes (serverconfig.py):
#   - the backoff mechanism ("bom*"): after an answer that took at least bom_at seconds, while
#     the queue holds at most bom_rqp of its size and the request is younger than bom_ra
#     hours, nothing is sent for bom_d seconds: a struggling server gets a rest;
#   - "dort": a queued request older than that many hours is dropped unsent.
# sender.py loads this module only when one of them applies.

from .log import WARNING
from .request import flag_value

_M = "Sender"
_TS = b"&timestamp="


def _age_ms(core, buf):
    # Age of the request in the send buffer, from its timestamp; None when unknown (no
    # timestamp yet, or no valid clock).
    i = buf.find(_TS)
    now = core.platform.epoch_ms()
    if i < 0 or now is None:
        return None
    i += len(_TS)
    j = i
    data = buf.buf
    while j < buf.n and 48 <= data[j] <= 57:
        j += 1
    if j == i:
        return None
    return now - int(bytes(data[i:j]).decode())


def drop_old(sender, seq, flags):
    # The request in the send buffer is older than the server configuration keeps: dropped,
    # counted, said once; its events go with it. -> True when dropped.
    core = sender._core
    age = _age_ms(core, sender._buf)
    if age is None or age <= core.drop_age_ms:
        return False
    sender._buf.owner = None
    sender.dropped += 1
    span = flag_value(flags, "R")
    sender._ack(seq, int(span.split("-")[1]) if span is not None else 0)
    core.log.notice("dort", WARNING, _M, "send", "request older than %d h dropped unsent "
                    "(server configuration)", core.drop_age_ms // 3600000)
    return True


def slow(core, sender):
    at_ms, share, age_ms, rest_s = core.bom
    rq = core.request_queue
    if len(rq) * 1000 > rq.capacity * share:
        return False  # a long queue must drain: no rest
    age = _age_ms(core, sender._buf)
    if age is not None and age > age_ms:
        return False
    sender._cool(rest_s, False)
    core.boms = core.__dict__.get("boms", 0) + 1  # reported by the health check
    core.log.notice("bom", WARNING, _M, "send", "the server answered slowly: next send in %d s",
                    rest_s)
    return True
