# test_ab.py - A/B tests: enrolling (method=ab, answered now), leaving (method=ab_opt_out,
# queued), and the variant control calls for testing (ab_fetch_variants into memory,
# ab_enroll_variant), with the server's answers and errors.
# Runs under pytest and under `micropython -X heapsize=128k`.

import json

from featkit import lines_of
from featkit import make

from countly_mp.results import RequestResult


def test_enroll_sends_the_keys_and_reports_the_answer():
    ly, p, t = make(manual_sessions=True)
    assert ly.remote_config.enroll_ab(["button", "color"]) is True
    assert t.side_param(0, "method") == "ab" and t.side[0][1].startswith("/o/sdk?")
    assert json.loads(t.side_param(0, "keys")) == ["button", "color"]
    t.side_answers = [(400, None, b'{"result":"Missing Keys"}'), OSError(113, "down")]
    assert ly.remote_config.enroll_ab(["x"]) is False
    assert ly.remote_config.enroll_ab(["x"]) is False
    assert t.sent == []  # nothing queued


def test_enroll_without_keys_is_an_error_and_sends_nothing():
    opts = {"manual_sessions": True}
    lines = lines_of(opts)
    ly, p, t = make(**opts)
    for bad in ([], None, "button", [3]):
        assert ly.remote_config.enroll_ab(bad) is False
    assert t.side == []
    assert len([x for x in lines if "keys must be a non-empty list" in x]) == 4


def test_exit_is_queued_with_or_without_keys():
    ly, p, t = make(manual_sessions=True)
    assert ly.remote_config.exit_ab(["button"]) is True
    assert ly.remote_config.exit_ab() is True
    assert ly.remote_config.exit_ab([]) is False
    assert t.side == [] and ly.pending() == 2
    assert ly.flush() == 2
    assert t.param(0, "method") == "ab_opt_out" and json.loads(t.param(0, "keys")) == ["button"]
    assert t.param(1, "method") == "ab_opt_out" and t.param(1, "keys") is None
    assert t.sent[0][1].startswith("/i?")


def test_variants_download_into_memory_and_read():
    ly, p, t = make(manual_sessions=True)
    t.side_answers = [(200, None, json.dumps({
        "button": [{"name": "Control group", "value": "blue"}, {"name": "Variant A",
                                                               "value": "red"}],
        "speed": [{"name": "Control group", "value": 1}]}).encode())]
    got = []
    rc = ly.remote_config
    assert rc.testing_get_all_variants() == {} and rc.testing_get_variants("button") is None
    assert rc.testing_download_variants(lambda *a: got.append(a)) == RequestResult.SUCCESS
    assert got == [(RequestResult.SUCCESS, None)]
    assert t.side_param(0, "method") == "ab_fetch_variants"
    assert rc.testing_get_all_variants() == {"button": ["Control group", "Variant A"],
                                             "speed": ["Control group"]}
    assert rc.testing_get_variants("button") == ["Control group", "Variant A"]
    assert rc.testing_get_variants("nope") is None
    assert ly.store.read("rc") is None  # variants live in memory only


def test_variant_download_errors_keep_what_was_there():
    ly, p, t = make(manual_sessions=True)
    t.side_answers = [(200, None, b'{"k":[{"name":"A","value":1}]}'), (200, None, b'[1,2]'),
                      (400, None, b'{"result":"Invalid method"}')]
    rc = ly.remote_config
    rc.testing_download_variants()
    got = []
    assert rc.testing_download_variants(lambda *a: got.append(a)) == RequestResult.ERROR
    assert rc.testing_download_variants(lambda *a: got.append(a)) == RequestResult.ERROR
    assert "Invalid method" in got[1][1]
    assert rc.testing_get_all_variants() == {"k": ["A"]}


def test_enroll_variant_and_its_errors():
    ly, p, t = make(manual_sessions=True)
    got = []
    cb = lambda *a: got.append(a)  # noqa: E731
    rc = ly.remote_config
    assert rc.testing_enroll_variant("button", "Variant A", cb) == RequestResult.SUCCESS
    assert t.side_param(0, "method") == "ab_enroll_variant" and t.side[0][1].startswith("/i?")
    assert t.side_param(0, "key") == "button" and t.side_param(0, "variant") == "Variant A"
    t.side_answers = [(400, None, b'{"result":"Variant not found"}'),
                      (400, None, b'{"result":"Invalid request, key is missing"}')]
    assert rc.testing_enroll_variant("button", "Z", cb) == RequestResult.ERROR
    assert rc.testing_enroll_variant("k", "v", cb) == RequestResult.ERROR
    assert rc.testing_enroll_variant("", "v", cb) == RequestResult.ERROR  # no request
    assert len(t.side) == 3
    assert got[0] == (RequestResult.SUCCESS, None)
    assert "Variant not found" in got[1][1] and "key is missing" in got[2][1] and got[3][1]


def test_consent_gates_ab_and_its_removal_clears_the_variants():
    ly, p, t = make(manual_sessions=True, require_consent=True, consents=["remote-config"])
    rc = ly.remote_config
    t.side_answers = [(200, None, b'{"k":[{"name":"A","value":1}]}')]
    rc.testing_download_variants()
    ly.consent.remove("remote-config")
    assert rc.testing_get_all_variants() == {}
    assert rc.enroll_ab(["k"]) is False and rc.exit_ab() is False
    assert rc.testing_download_variants() == RequestResult.ERROR
    assert rc.testing_enroll_variant("k", "A") == RequestResult.ERROR
    assert len(t.side) == 1
    assert ly.flush() == 2  # the init consents and their removal; no ab_opt_out
    assert [t.param(i, "method") for i in range(2)] == [None, None]


def test_the_documented_example_runs():
    from docex import run_example

    ly, p, t = make(manual_sessions=True)
    t.fixtures["ab_fetch_variants"] = {"button_color": [{"name": "Control group", "value": 1},
                                                        {"name": "Variant A", "value": 2}]}
    run_example("A/B testing", ly=ly, RequestResult=RequestResult)
    assert t.side_methods() == ["ab", "ab_fetch_variants", "ab_enroll_variant"]
    assert ly.remote_config.testing_get_variants("button_color") == ["Control group",
                                                                     "Variant A"]
    assert ly.flush() == 1 and t.param(0, "method") == "ab_opt_out"
