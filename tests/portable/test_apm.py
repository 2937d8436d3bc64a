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


def _boot(**opts):
    # A board 1.5 s after power-on (ticks count from boot), its port telling when it booted.
    from fakes import FakePlatform, ScriptedTransport

    from countly_mp.config import Config
    from countly_mp.countly import Countly

    t = ScriptedTransport()
    p = FakePlatform(transport=t)
    p.advance(1500)
    p.boot_ticks = lambda: 0
    ly = Countly(Config("http://127.0.0.1:9", "APPKEY", device_id="dev1", **opts), platform=p)
    return ly, p, t


def test_app_start_device_trace_from_boot_to_sdk_ready():
    ly, p, t = _boot(apm_app_start=True)
    a = apms(ly, t)
    assert a == [{"type": "device", "name": "app_start", "apm_metrics": {"duration": 1500},
                  "stz": T0, "etz": T0 + 1500}]


def test_app_start_is_off_by_default_and_needs_apm_consent():
    ly, p, t = _boot()
    assert apms(ly, t) == []
    ly, p, t = _boot(apm_app_start=True, require_consent=True, consents=["sessions"])
    assert apms(ly, t) == []


def test_app_start_without_a_boot_time_measures_the_sdk_init():
    ly, p, t = make(apm_app_start=True)
    a = apms(ly, t)
    assert [x["name"] for x in a] == ["app_start"] and a[0]["apm_metrics"]["duration"] == 0
