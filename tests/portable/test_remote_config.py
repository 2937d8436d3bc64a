# test_remote_config.py - remote config downloads: the request (method, keys, omit_keys, oi,
# metrics, checksum), full and partial updates, values on flash, callbacks, errors and caps.
# Runs under pytest and under `micropython -X heapsize=128k`.

import json

from featkit import lines_of, ok
from featkit import make

from countly_mp.compat import sha256_hex
from countly_mp.results import RCData, RequestResult


def big(key, n):
    # {"key": "xxx..."} of n characters, built without intermediate copies (128 KiB heap)
    return (200, None, b'{"' + key.encode() + b'":"' + b"x" * n + b'"}')


def test_download_all_stores_values_and_calls_back():
    got = []
    ly, p, t = make(manual_sessions=True)
    t.side_answers = [ok({"color": "red", "n": 5, "on": True})]
    r = ly.remote_config.download_all(lambda *a: got.append(a))
    assert r == RequestResult.SUCCESS
    assert t.side_param(0, "method") == "rc" and t.side_param(0, "oi") is None
    assert t.side_param(0, "keys") is None and t.side_param(0, "omit_keys") is None
    assert json.loads(t.side_param(0, "metrics"))["_app_version"] == "0.0"  # sessions allowed
    assert t.side[0][1].startswith("/o/sdk?")
    assert ly.remote_config.get("color") == RCData("red", True)
    assert ly.remote_config.get("missing") is None
    assert ly.remote_config.get_all() == {"color": RCData("red", True), "n": RCData(5, True),
                                          "on": RCData(True, True)}
    result, error, full, values = got[0]
    assert result == RequestResult.SUCCESS and error is None and full is True
    assert values["n"] == RCData(5, True) and len(values) == 3
    assert t.sent == []  # nothing queued


def test_partial_downloads_update_only_their_keys():
    ly, p, t = make(manual_sessions=True)
    t.side_answers = [ok({"a": "x", "b": "y", "c": "z"}), ok({"a": "xx"}), ok({"b": "yy"}),
                      ok({"c": "only"})]
    ly.remote_config.download_all()
    calls = []
    assert ly.remote_config.download_keys(["a"], lambda *a: calls.append(a)) == "Success"
    assert json.loads(t.side_param(1, "keys")) == ["a"]
    assert calls[0][2] is False and list(calls[0][3]) == ["a"]  # a partial update
    ly.remote_config.download_omitting(["a", "c"])
    assert json.loads(t.side_param(2, "omit_keys")) == ["a", "c"]
    assert t.side_param(2, "keys") is None
    assert {k: v.value for k, v in ly.remote_config.get_all().items()} == {
        "a": "xx", "b": "yy", "c": "z"}
    ly.remote_config.download_all()  # a full download replaces everything
    assert {k: v.value for k, v in ly.remote_config.get_all().items()} == {"c": "only"}


def test_bad_key_lists_are_refused_without_a_request():
    ly, p, t = make(manual_sessions=True)
    got = []
    for bad in ([], None, "a", [1], ["a", None]):
        assert ly.remote_config.download_keys(bad, lambda *a: got.append(a)) == "Error"
        assert ly.remote_config.download_omitting(bad) == "Error"
    assert t.side == [] and len(got) == 5 and got[0][1]


def test_enroll_on_download_sends_oi_and_legacy_api_uses_fetch_remote_config():
    ly, p, t = make(manual_sessions=True, rc_enroll_ab_on_download=True)
    ly.remote_config.download_all()
    assert t.side_param(0, "method") == "rc" and t.side_param(0, "oi") == "1"
    ly, p, t = make(manual_sessions=True, rc_enroll_ab_on_download=True, rc_legacy_api=True)
    ly.remote_config.download_keys(["k"])
    assert t.side_param(0, "method") == "fetch_remote_config" and t.side_param(0, "oi") is None
    assert json.loads(t.side_param(0, "keys")) == ["k"]
    # The legacy method always enrolls: asked not to, the SDK warns and uses method=rc.
    opts = {"manual_sessions": True, "rc_legacy_api": True}
    lines = lines_of(opts)
    ly, p, t = make(**opts)
    ly.remote_config.download_all()
    assert t.side_param(0, "method") == "rc" and t.side_param(0, "oi") is None
    assert [x for x in lines if "rc_legacy_api" in x]


def test_metrics_only_with_sessions_consent():
    ly, p, t = make(manual_sessions=True, require_consent=True, consents=["remote-config"])
    ly.remote_config.download_all()
    assert t.side_param(0, "metrics") is None
    ly.consent.give("sessions")
    ly.remote_config.download_all()
    assert json.loads(t.side_param(1, "metrics"))["_os"] == "TestOS"


def test_checksum_with_salt():
    ly, p, t = make(manual_sessions=True, salt="s3cr3t")
    ly.remote_config.download_all()
    query = t.side[0][1].split("?", 1)[1]
    payload, _, digest = query.partition("&checksum256=")
    assert digest == sha256_hex((payload + "s3cr3t").encode())


def test_values_persist_across_restarts():
    ly, p, t = make(manual_sessions=True)
    t.side_answers = [ok({"interval": 30})]
    ly.remote_config.download_all()
    ly.stop()
    ly2, p2, t2 = make(root=p.root, manual_sessions=True)
    assert ly2.remote_config.get("interval") == RCData(30, True)
    assert t2.side == []  # read from flash, not downloaded


def test_callbacks_from_config_register_and_remove():
    seen = []

    def at_init(*a):
        seen.append(("init",) + a)

    def later(*a):
        seen.append(("later",) + a)

    ly, p, t = make(manual_sessions=True, rc_callbacks=[at_init])
    rc = ly.remote_config
    assert rc.register_callback(later) and rc.register_callback(later)  # registered once
    assert rc.register_callback("not callable") is False
    rc.download_all()
    assert [s[0] for s in seen] == ["init", "later"]
    assert rc.remove_callback(later) and rc.remove_callback(later) is False
    rc.download_all()
    assert [s[0] for s in seen] == ["init", "later", "init"]


def test_a_raising_callback_changes_nothing():
    def boom(*a):
        raise ValueError("app bug")

    ly, p, t = make(manual_sessions=True, rc_callbacks=[boom])
    t.side_answers = [ok({"k": 1})]
    assert ly.remote_config.download_all() == RequestResult.SUCCESS
    assert ly.remote_config.get("k").value == 1


def test_clear_all():
    ly, p, t = make(manual_sessions=True)
    t.side_answers = [ok({"k": 1})]
    ly.remote_config.download_all()
    assert ly.remote_config.clear_all()
    assert ly.remote_config.get_all() == {}
    ly2, p2, t2 = make(root=p.root, manual_sessions=True)
    assert ly2.remote_config.get_all() == {}


def test_no_consent_no_request_and_removal_clears():
    ly, p, t = make(manual_sessions=True, require_consent=True, consents=["events"])
    assert ly.remote_config.download_all() == RequestResult.ERROR
    assert ly.remote_config.enroll_ab(["k"]) is False and t.side == []
    ly.consent.give("remote-config")
    t.side_answers = [ok({"k": 1})]
    assert ly.remote_config.download_all() == RequestResult.SUCCESS
    ly.consent.remove("remote-config")
    assert ly.remote_config.get_all() == {}
    ly2, p2, t2 = make(root=p.root, manual_sessions=True)
    assert ly2.remote_config.get_all() == {}  # cleared on flash too


def test_public_calls_log_at_info_and_never_raise():
    opts = {"manual_sessions": True}
    lines = lines_of(opts)
    ly, p, t = make(**opts)
    rc = ly.remote_config
    rc.get(None)
    rc.get_all()
    rc.download_keys(object())
    rc.clear_all()
    for name in ("get", "get_all", "download_keys", "clear_all"):
        assert [x for x in lines if "[RemoteConfig] " + name in x], name


def test_the_documented_example_runs():
    from docex import run_example

    ly, p, t = make(manual_sessions=True)
    t.side_answers = [ok({"send_interval_s": 30, "welcome_text": "hi"}),
                      ok({"send_interval_s": 20}), ok({"other": 1})]
    seen = []
    ly.remote_config.register_callback(lambda *a: seen.append(a[0]))
    scope = run_example("Remote config", ly=ly)
    assert [t.side_param(i, "method") for i in range(3)] == ["rc", "rc", "rc"]
    assert json.loads(t.side_param(1, "keys")) == ["send_interval_s"]
    assert json.loads(t.side_param(2, "omit_keys")) == ["welcome_text"]
    assert seen == ["Success"] * 3 and "on_values" in scope
    assert ly.remote_config.get_all() == {}  # the example ends with clear_all()
