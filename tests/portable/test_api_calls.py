# test_api_calls.py - public calls made exactly as docs/api.md and docs/asyncio.md write them:
# keyword arguments of the cold entry points, stop() ending run() on an SDK whose init failed,
# and a feature call on an inert SDK that says "inert" rather than reporting an internal error.
# Runs under pytest and under `micropython -X heapsize=128k`.

import asyncio

from console import AnswersOk, Sink
from fakes import FakePlatform

from countly_mp.config import Config
from countly_mp.countly import Countly

URL = "http://127.0.0.1:9"


class BrokenStorage(FakePlatform):
    def storage_root(self):
        raise OSError(30, "read-only file system")


def boot(platform=None):
    sink = Sink()
    p = platform or FakePlatform()
    p.log_sink = sink
    p.async_transport = lambda *a: AnswersOk()
    return Countly(Config(URL, "APPKEY"), platform=p), sink


async def _run_then_stop(ly, **kw):
    task = asyncio.create_task(ly.run(**kw))
    await asyncio.sleep(0.05)
    ly.stop()
    await asyncio.wait_for(task, 2)  # run() returns after the step in progress
    return True


def test_run_takes_period_ms_by_keyword_as_documented():
    ly, sink = boot()
    assert ly.pending() >= 1  # begin_session
    assert asyncio.run(_run_then_stop(ly, period_ms=10)) is True
    assert ly.status()["delivered"] >= 1


def test_a_cold_entry_point_given_a_wrong_keyword_does_not_raise():
    ly, sink = boot()
    assert ly.set_server_url(URL, bogus=1) is False
    assert ly.status(bogus=1)["ready"] is True


def test_stop_ends_run_on_an_inert_sdk():
    ly, sink = boot(BrokenStorage())
    assert not ly.ready
    assert asyncio.run(_run_then_stop(ly, period_ms=10)) is True


def test_views_on_an_inert_sdk_say_inert_not_internal_error():
    ly, sink = boot(BrokenStorage())
    assert ly.views.start("home") is None
    assert sink.having("internal error") == [], sink.lines
    assert len(sink.having("SDK inert")) >= 1


def test_location_on_an_inert_sdk_with_consent_required_says_inert_not_internal_error():
    sink = Sink()
    p = BrokenStorage()
    p.log_sink = sink
    ly = Countly(Config(URL, "APPKEY", require_consent=True), platform=p)
    assert ly.location.set(country_code="LV", city="Riga") is False
    assert ly.user.set("k", 1) is False
    assert sink.having("internal error") == [], sink.lines


def test_stop_that_cannot_load_its_code_still_stops_and_says_so():
    import countly_mp.countly as c

    ly, sink = boot()
    real = c.Countly._via

    def no_memory(self, module, name, *a, **kw):
        if name == "stop":
            module = "no_such_module_countly"   # the import fails as a MemoryError would
        return real(self, module, name, *a, **kw)

    c.Countly._via = no_memory
    try:
        ly.stop()
    finally:
        c.Countly._via = real
    assert len(sink.having("could not end the session")) == 1, sink.lines
    assert ly.events.record("after") is False
