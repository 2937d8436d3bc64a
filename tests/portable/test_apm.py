# test_apm.py - `apm` requests: custom traces from ticks, network traces, key rules, consent.
# Runs under pytest and under `micropython -X heapsize=128k`.

import json

from fakes import T0
from featkit import make, only, sent


def apms(ly, t):
    reqs = only(sent(ly, t), "apm")
    assert all(r["count"] == "1" for r in reqs)
    return [json.loads(r["apm"]) for r in reqs]


def test_custom_trace_duration_from_ticks_with_metrics():
    ly, p, t = make(manual_sessions=True)
    assert ly.apm.start_trace("boot")
    assert ly.apm.start_trace("boot") is False  # already running
    p.advance(1234)
    assert ly.apm.end_trace("boot", {"heap": 2048, "bad": "x", "k" * 40: 1, "f": 1.9})
    assert ly.apm.end_trace("boot") is False
    a = apms(ly, t)[0]
    assert a["type"] == "device" and a["name"] == "boot"
    assert a["apm_metrics"] == {"duration": 1234, "heap": 2048, "f": 1}
    assert a["etz"] == T0 + 1234 and a["stz"] == T0


def test_network_trace_exact_json():
    ly, p, t = make(manual_sessions=True)
    assert ly.apm.record_network_trace("/api/x", 200, 70, 120, T0, T0 + 1330)
    assert apms(ly, t) == [{"type": "network", "name": "/api/x",
                            "apm_metrics": {"response_time": 1330, "response_payload_size": 120,
                                            "response_code": 200, "request_payload_size": 70},
                            "stz": T0, "etz": T0 + 1330}]


def test_invalid_input_and_cancel():
    ly, p, t = make(manual_sessions=True)
    assert ly.apm.record_network_trace("/x", 99, 1, 1, 0, 1) is False
    assert ly.apm.record_network_trace("/x", 200, 1.5, 1, 0, 1) is False
    assert ly.apm.record_network_trace("/x", 200, 1, 1, 5, 1) is False
    assert ly.apm.record_network_trace(None, 200, 1, 1, 0, 1) is False
    assert ly.apm.start_trace("") is False and ly.apm.start_trace(7) is False
    assert ly.apm.start_trace("$odd")  # accepted with a warning
    assert ly.apm.cancel_trace("$odd") and ly.apm.cancel_trace("$odd") is False
    assert ly.apm.end_trace("$odd") is False
    assert ly.apm.end_trace("t", metrics=[1]) is False
    assert apms(ly, t) == []


def test_apm_consent():
    ly, p, t = make(manual_sessions=True, require_consent=True, consents=["events"])
    assert ly.apm.start_trace("a") is False
    assert ly.apm.record_network_trace("/x", 200, 1, 1, 0, 1) is False
    assert apms(ly, t) == []
