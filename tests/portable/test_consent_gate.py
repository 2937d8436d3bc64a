# test_consent_gate.py - with consent required and none given, no feature records or sends.
# Its own module because it loads every feature module at once (heap on MicroPython 128k).

from featkit import make, sent


def test_nothing_recorded_or_sent_without_consent():
    ly, p, t = make(require_consent=True, event_queue_threshold=1)
    assert ly.events.record("e") is False
    assert ly.views.start("v") is None and ly.crashes.record_error("x") is False
    assert ly.user.set("a", 1) is False and ly.apm.start_trace("t") is False
    assert ly.attribution.record_indirect({"adid": "1"}) is False
    assert ly.location.set(city="Riga", country_code="LV") is False
    assert ly.pending() == 0 and sent(ly, t) == []
