# test_remote_config_errors.py - remote config downloads that fail: no answer, the server's
# errors, answers that are not remote config, answers over the cap, temporary ID mode, damaged
# values on flash. The values held stay, and the callbacks and a log line say why.
# Runs under pytest and under `micropython -X heapsize=128k`.


from featkit import lines_of, ok
from featkit import make

from countly_mp.results import RCData, RequestResult


def big(key, n):
    # {"key": "xxx..."} of n characters, built without intermediate copies (128 KiB heap)
    return (200, None, b'{"' + key.encode() + b'":"' + b"x" * n + b'"}')


def test_failures_keep_the_values_and_say_why():
    opts = {"manual_sessions": True}
    lines = lines_of(opts)
    ly, p, t = make(**opts)
    t.side_answers = [ok({"k": "v"}), OSError(113, "unreachable"),
                      (400, None, b'{"result":"Error while fetching remote config data."}'),
                      (500, None, b"<html>down</html>"), (200, None, b"<html>portal</html>"),
                      (200, None, b'{"result":"Request does not match checksum"}')]
    ly.remote_config.download_all()
    got = []
    cb = lambda *a: got.append(a)  # noqa: E731
    assert ly.remote_config.download_all(cb) == RequestResult.NETWORK_ISSUE
    for _ in range(4):
        assert ly.remote_config.download_all(cb) == RequestResult.ERROR
    assert [g[0] for g in got] == ["NetworkIssue", "Error", "Error", "Error", "Error"]
    assert all(g[1] and g[3] == {} for g in got)
    assert "Error while fetching remote config data." in got[1][1]
    assert "check the salt" in got[4][1]
    assert ly.remote_config.get("k") == RCData("v", True)
    assert [x for x in lines if "Error while fetching" in x]


def test_an_answer_over_the_cap_is_refused_and_the_values_stay():
    # The default cap is 2048 bytes; a smaller one keeps the answers of this test small
    # enough for a 128 KiB test heap.
    assert make()[0].config.rc_answer_max == 2048
    opts = {"manual_sessions": True, "rc_answer_max": 512}
    lines = lines_of(opts)
    ly, p, t = make(**opts)
    t.side_answers = [ok({"k": "v"}), big("big", 520), big("k", 250), big("j", 270)]
    ly.remote_config.download_all()
    assert ly.remote_config.download_all() == RequestResult.ERROR
    assert ly.remote_config.get_all() == {"k": RCData("v", True)}
    assert [x for x in lines if "larger than 512 bytes refused" in x]
    assert ly.remote_config.download_keys(["k"]) == RequestResult.SUCCESS
    # Each partial answer fits; together they would not: refused, previous values kept.
    assert ly.remote_config.download_keys(["j"]) == RequestResult.ERROR
    assert sorted(ly.remote_config.get_all()) == ["k"]
    assert [x for x in lines if "values would exceed 512 bytes" in x]


def test_the_cap_is_an_option():
    answer = big("big", 2100)
    ly, p, t = make(manual_sessions=True, rc_answer_max=4096)
    t.side_answers = [answer]
    assert ly.remote_config.download_all() == RequestResult.SUCCESS
    assert len(ly.remote_config.get("big").value) == 2100


def test_temporary_id_mode_downloads_nothing():
    ly, p, t = make(manual_sessions=True, device_id=None, temporary_device_id=True)
    got = []
    assert ly.remote_config.download_all(lambda *a: got.append(a)) == RequestResult.ERROR
    assert t.side == [] and "temporary" in got[0][1]


def test_damaged_values_on_flash_are_cleared_and_said():
    ly, p, t = make(manual_sessions=True)
    t.side_answers = [ok({"k": 1})]
    ly.remote_config.download_all()
    raw = ly.store.read("rc")
    ly.store.write("rc", raw[:-3] + b"xx]")
    opts = {"manual_sessions": True, "root": p.root}
    lines = lines_of(opts)
    ly2, p2, t2 = make(**opts)
    assert ly2.remote_config.get("k") is None
    assert [x for x in lines if "damaged" in x]
    assert ly2.store.read("rc") is None


def test_the_result_types_come_from_the_package():
    from countly_mp import FeedbackWidget, RCData, RequestResult

    assert (RequestResult.SUCCESS, RequestResult.ERROR, RequestResult.NETWORK_ISSUE) == (
        "Success", "Error", "NetworkIssue")
    assert RCData(1, False).is_current_users_data is False
    assert FeedbackWidget("w", "nps", "n", ["t"]).tags == ["t"]
