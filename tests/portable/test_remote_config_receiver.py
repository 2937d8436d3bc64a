# test_remote_config_receiver.py - remote config and A/B tests end to end against the local
# receiver over real HTTP: what it answered from its fixtures (conditions, variants) and what
# it recorded (sdk_requests, ab). Kept apart from the other remote config tests so that their
# MicroPython processes never load the HTTP client (the heap is 128 KiB).

import json

from featkit import real, uid


def test_download_with_conditions_keys_and_omit_keys():
    import recv

    dev = uid("rc")
    recv.set_fixtures(remote_config={"mode": "eco", "n": 5, "name": "box"},
                      remote_config_conditions=[{"name": "this board", "device_ids": [dev],
                                                 "values": {"n": 7}}])
    ly, p = real(manual_sessions=True, device_id=dev)
    rc = ly.remote_config
    assert rc.download_all() == "Success"
    assert {k: v.value for k, v in rc.get_all().items()} == {"mode": "eco", "n": 7, "name": "box"}
    recv.set_fixtures(remote_config={"mode": "max", "n": 1, "name": "new"})
    assert rc.download_keys(["mode"]) == "Success"
    assert rc.download_omitting(["mode", "n"]) == "Success"
    assert {k: v.value for k, v in rc.get_all().items()} == {"mode": "max", "n": 7, "name": "new"}
    rows = recv.rows("sdk_requests", device_id=dev)
    assert [r["method"] for r in rows] == ["rc", "rc", "rc"]
    assert rows[1]["keys"] == ["mode"] and rows[2]["omit_keys"] == ["mode", "n"]
    assert json.loads(rows[0]["params"]["metrics"])["_os"] == "TestOS"


def test_enroll_on_download_and_variant_values():
    import recv

    recv.set_fixtures(remote_config={"color": "grey"}, ab_variants={"color": [
        {"name": "Control group", "value": "blue"}, {"name": "Variant A", "value": "red"}]})
    ly, p = real(manual_sessions=True, rc_enroll_ab_on_download=True)
    dev = ly.device_id.get()
    assert ly.remote_config.download_all() == "Success"
    assert ly.remote_config.get("color").value in ("blue", "red")  # the enrolled variant's
    ab = recv.rows("ab", device_id=dev)
    assert [r["action"] for r in ab] == ["rc_oi"] and ab[0]["keys"] == ["color"]


def test_enroll_and_exit_ab():
    import recv

    recv.set_fixtures(ab_variants={"speed": [{"name": "Control group", "value": 1},
                                             {"name": "Variant A", "value": 2}]})
    ly, p = real(manual_sessions=True)
    dev = ly.device_id.get()
    assert ly.remote_config.enroll_ab(["speed"]) is True
    assert ly.remote_config.exit_ab(["speed"]) is True
    assert ly.flush() == 1
    assert [(r["action"], r["keys"]) for r in recv.rows("ab", device_id=dev)] == [
        ("ab", ["speed"]), ("ab_opt_out", ["speed"])]


def test_variant_control():
    import recv

    recv.set_fixtures(remote_config={"speed": 0}, ab_variants={"speed": [
        {"name": "Control group", "value": 1}, {"name": "Variant A", "value": 2}]})
    ly, p = real(manual_sessions=True)
    rc = ly.remote_config
    assert rc.testing_download_variants() == "Success"
    assert rc.testing_get_variants("speed") == ["Control group", "Variant A"]
    got = []
    assert rc.testing_enroll_variant("speed", "Variant A") == "Success"
    assert rc.testing_enroll_variant("speed", "Z", lambda *a: got.append(a)) == "Error"
    assert "Variant not found" in got[0][1]
    rc.download_all()
    assert rc.get("speed").value == 2
    actions = [r["action"] for r in recv.rows("ab", device_id=ly.device_id.get())]
    assert actions == ["ab_enroll_variant"]


def test_salted_app_and_a_wrong_salt():
    import recv

    from fakes import HTTP, FakePlatform

    from countly_mp.config import Config
    from countly_mp.countly import Countly

    recv.set_fixtures(remote_config={"k": 1})
    root = FakePlatform().root
    got = []

    def keep(*a):
        got.append(a)

    for salt, result in (("s3cr3t", "Success"), ("wrong", "Error")):
        cfg = Config(recv.url(), "SALTED", salt=salt, device_id="salted-rc",
                     manual_sessions=True)
        ly = Countly(cfg, platform=FakePlatform(root=root, transport=HTTP))
        assert ly.remote_config.download_all(keep) == result
        ly.stop()
        del ly
    assert "Request does not match checksum" in got[1][1]
