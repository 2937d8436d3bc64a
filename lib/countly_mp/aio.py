# aio.py - the asyncio face of the SDK: atick(), aflush(), run(). The same queue, policy and
# guarantees as tick()/flush(): only the exchange differs, awaited on the port's asyncio
# transport so the app's loop keeps running while the network is slow, down or hostile. Loaded
# only by apps that use it (asyncio itself is imported here, never by the rest of the core).

import asyncio

from .compat import MICROPYTHON
from .sender import DROP, OK

_M = "Countly"


async def _exchange(core, job):
    s = core.sender
    started = core.clock.ticks()
    try:
        t = s.aopen()
        status, retry_after, answer = await t.exchange(job[2], job[3], job[4], job[5])
    except Exception as e:
        # Cancelled (CancelledError is a BaseException and passes through: the request is
        # then simply sent again later) or failed: the request stays first in line.
        s.aclose()
        if not isinstance(e, OSError):
            core.internal_error(_M, "aexchange", e)
        return _finish(core, job, 0, None, None, e)
    outcome = _finish(core, job, status, retry_after, answer)
    if outcome == OK and core.clock.since(started) >= core.bom[0]:
        # the server answered slowly: it gets a rest, as in tick()
        core.safely("pace", lambda: _pace(core))
    return outcome


def _finish(core, job, *answer):
    # The answer applied (ack, retry, pause), guarded as tick() guards it: a MemoryError while
    # loading the policy must not end the app's task. The request then stays first in line.
    try:
        return core.sender.finish(job, *answer)
    except Exception as e:
        core.internal_error(_M, "atick", e)
        return None


def _pace(core):
    from .pacing import slow

    slow(core, core.sender)


async def atick(core):
    # tick() with the exchange awaited. -> True delivered, False failed, None nothing sent.
    if not core.ready or core._stopped or core.timers():
        return None  # (the port used the network: NTP, this tick's one exchange)
    try:
        job = core.sender.prepare()
    except Exception as e:
        core.internal_error(_M, "atick", e)
        return None
    if job is None:
        return None
    try:
        return await _exchange(core, job) == OK
    finally:
        core.sender.release(job)


async def aflush(core):
    # flush() with each exchange awaited. -> requests delivered.
    if not core.ready:
        return 0
    core.log.i(_M, "aflush")
    core.safely("flush events", core.batcher.close)
    delivered = 0
    while True:
        try:
            job = core.sender.prepare(True)
        except Exception as e:
            core.internal_error(_M, "aflush", e)
            return delivered
        if job is None:
            return delivered
        try:
            outcome = await _exchange(core, job)
        finally:
            core.sender.release(job)
        if outcome == OK:
            delivered += 1
        elif outcome != DROP:
            return delivered


async def run(core, period_ms=1000):
    # atick() about once a period until stop(); what an asyncio app starts with create_task().
    core.log.i(_M, "run")
    while not core._stopped:
        try:
            await atick(core)
        except Exception as e:   # the app's task never ends on the SDK's failure
            core.internal_error(_M, "run", e)
        if MICROPYTHON:
            await asyncio.sleep_ms(period_ms)
        else:
            await asyncio.sleep(period_ms / 1000)
