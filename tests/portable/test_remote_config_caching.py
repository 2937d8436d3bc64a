# test_remote_config_caching.py - remote config across a device ID change: without merge the
# values are cleared (or, with rc_value_caching, kept marked as the previous user's until
# downloaded again) and downloaded again with rc_automatic_triggers; with merge they stay.
# Runs under pytest and under `micropython -X heapsize=128k`.


from featkit import idle, ok
from featkit import make

from countly_mp.results import RCData


def _with_values(**opts):
    # A Countly whose init jobs are done, holding {"a": 1, "b": 2}.
    ly, p, t = make(manual_sessions=True, **opts)
    idle(ly, t)
    t.side_answers = [ok({"a": 1, "b": 2})]
    ly.remote_config.download_all()
    return ly, p, t


def test_id_change_without_merge_clears_and_downloads_again():
    ly, p, t = _with_values(rc_automatic_triggers=True)
    before = t.side_methods().count("rc")
    t.fixtures["rc"] = {"a": 10}
    ly.device_id.change("user-2")
    assert ly.remote_config.get_all() == {}  # cleared at once
    assert idle(ly, t).count("rc") == before + 1
    assert t.side_param(len(t.side) - 1, "device_id") == "user-2"
    assert ly.remote_config.get_all() == {"a": RCData(10, True)}


def test_id_change_with_caching_marks_old_values_then_updates_clear_the_mark():
    ly, p, t = _with_values(rc_value_caching=True)
    ly.device_id.change("user-2")
    assert ly.remote_config.get_all() == {"a": RCData(1, False), "b": RCData(2, False)}
    t.side_answers = [ok({"a": 11}), ok({"c": 3})]
    ly.remote_config.download_keys(["a"])  # partial: only "a" becomes the new user's
    assert ly.remote_config.get_all() == {"a": RCData(11, True), "b": RCData(2, False)}
    from countly_mp.remote_config import RemoteConfig

    assert RemoteConfig(ly).get("b") == RCData(2, False)  # the mark is on flash too
    ly.remote_config.download_all()  # full: the previous user's values go
    assert ly.remote_config.get_all() == {"c": RCData(3, True)}


def test_id_change_with_merge_keeps_values_and_downloads_nothing():
    ly, p, t = _with_values(rc_automatic_triggers=True)
    before = t.side_methods().count("rc")
    ly.device_id.change("user-2", merge=True)
    assert ly.remote_config.get("a") == RCData(1, True)
    assert idle(ly, t).count("rc") == before
