# test_remote_config_triggers.py - the guide's automatic download triggers, row by row (init,
# temporary ID mode in and out, consent given and removed, device ID change with and without
# merge), and value caching across a device ID change. Automatic downloads happen in tick()
# when the queue is idle. Runs under pytest and under `micropython -X heapsize=128k`.


from featkit import idle, ok
from featkit import make

from countly_mp.results import RCData


def test_init_downloads_when_enabled_and_calls_the_init_callbacks():
    got = []
    ly, p, t = make(rc_automatic_triggers=True, rc_callbacks=[lambda *a: got.append(a)])
    t.fixtures["rc"] = {"mode": "eco"}
    assert t.side == []  # init itself sends nothing
    assert idle(ly, t) == ["sc", "/i", "rc"]  # server configuration, health check, download
    assert t.param(0, "begin_session") == "1"  # the queue went first
    assert ly.remote_config.get("mode") == RCData("eco", True)
    assert got[0][0] == "Success" and got[0][2] is True and got[0][3]["mode"].value == "eco"


def test_init_downloads_nothing_by_default():
    ly, p, t = make()
    assert "rc" not in idle(ly, t)


def test_no_download_while_offline_then_when_online():
    ly, p, t = make(rc_automatic_triggers=True)
    p.online = False
    assert idle(ly, t, 3) == []
    p.online = True
    assert "rc" in idle(ly, t)


def test_temporary_id_init_waits_and_leaving_it_downloads():
    ly, p, t = make(rc_automatic_triggers=True, device_id=None, temporary_device_id=True)
    assert idle(ly, t, 4) == []  # nothing is sent in temporary ID mode
    ly.device_id.change("real-1")
    assert "rc" in idle(ly, t)
    assert t.side_param(t.side_methods().index("rc"), "device_id") == "real-1"


def test_leaving_temporary_id_without_triggers_downloads_nothing():
    ly, p, t = make(device_id=None, temporary_device_id=True)
    ly.device_id.change("real-1")
    assert "rc" not in idle(ly, t)


def _with_values(**opts):
    # A Countly whose init jobs are done, holding {"a": 1, "b": 2}.
    ly, p, t = make(manual_sessions=True, **opts)
    idle(ly, t)
    t.side_answers = [ok({"a": 1, "b": 2})]
    ly.remote_config.download_all()
    return ly, p, t


def test_entering_temporary_id_clears_values():
    ly, p, t = _with_values()
    ly.device_id.enable_temporary()
    assert ly.remote_config.get_all() == {}


def test_entering_temporary_id_with_caching_keeps_them_as_the_previous_users():
    ly, p, t = _with_values(rc_value_caching=True)
    ly.device_id.enable_temporary()
    assert ly.remote_config.get_all() == {"a": RCData(1, False), "b": RCData(2, False)}


def test_consent_given_downloads_with_triggers_only():
    ly, p, t = make(rc_automatic_triggers=True, require_consent=True, consents=["sessions"])
    assert "rc" not in idle(ly, t)  # no remote-config consent: the init download is skipped
    ly.consent.give("remote-config")
    assert idle(ly, t).count("rc") == 1
    ly, p, t = make(require_consent=True, consents=["sessions"])
    ly.consent.give("remote-config")
    assert "rc" not in idle(ly, t)


def test_consent_removed_clears_values_without_triggers_too():
    ly, p, t = _with_values(require_consent=True, consents=["remote-config"])
    ly.consent.remove("remote-config")
    assert ly.remote_config.get_all() == {}


def test_an_app_without_remote_config_never_loads_it():
    ly, p, t = make(manual_sessions=True)
    ly.device_id.change("user-2")
    ly.device_id.enable_temporary()
    ly.device_id.change("user-3")
    assert "remote_config" not in ly.__dict__
