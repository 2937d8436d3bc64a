# test_receiver_sdk.py - /o/sdk methods and widget paths as a Countly server answers them, the
# fixtures behind them (changeable at run time), the sdk_requests record, Lite mode.
import hashlib
import json
import os
import urllib.parse

import pytest
from conftest import TOOLS, Client

SUCCESS = b'{"result":"Success"}'
NPS, SURVEY, RATING = ("614811419f030e44be07d82f", "614811419f030e44be07d830",
                       "614811419f030e44be07d831")


def qs(**params):
    items = [(k, v if isinstance(v, str) else json.dumps(v, separators=(",", ":")))
             for k, v in params.items()]
    return urllib.parse.urlencode(items, safe="", quote_via=urllib.parse.quote)


def sdk(client, path="/o/sdk", **params):
    params.setdefault("app_key", "APPKEY")
    params.setdefault("device_id", "d1")
    status, body = client.get(path + "?" + qs(**params))
    return status, json.loads(body) if body else None


def test_rc_conditions_per_device_and_metrics(client):
    assert sdk(client, method="rc", device_id="esp32-beta-1",
               keys=["feature_x", "send_interval_s"])[1] == {"feature_x": False,
                                                            "send_interval_s": 10}
    assert sdk(client, method="rc", device_id="plain", keys=["feature_x"])[1] == {
        "feature_x": True}
    # The metrics sent with the fetch (or stored from earlier requests) select conditions.
    got = sdk(client, method="rc", device_id="mp", metrics={"_os": "MicroPython"})[1]
    assert got["welcome_text"] == "Hello, MicroPython"
    assert sdk(client, method="rc", device_id="mp", keys=["welcome_text"])[1] == {
        "welcome_text": "Hello, MicroPython"}


def test_rc_oi_enrolls_into_ab_tests(client, receiver):
    # Without oi nobody is enrolled; with oi=1 the device gets a variant (stable per device).
    assert sdk(client, method="rc", keys=["button_color"]) == (200, {})
    got = sdk(client, method="rc", oi="1")[1]
    variants = {"Control group": "blue", "Variant A": "red"}
    assert got["button_color"] in variants.values()
    assert got["welcome_text"] == "Hello from the receiver"
    [row] = receiver.rows("ab")
    assert row["action"] == "rc_oi" and json.loads(row["variant"]) == {
        "button_color": [k for k, v in variants.items() if v == got["button_color"]][0]}
    assert sdk(client, method="rc", keys=["button_color"])[1] == {
        "button_color": got["button_color"]}
    # Keys not asked for are not enrolled.
    assert sdk(client, method="rc", oi="1", device_id="d2", keys=["feature_x"])[1] == {
        "feature_x": True}
    assert len(receiver.rows("ab")) == 1


def test_ab_enrolls_and_experiments_show_the_variant(client, receiver):
    assert sdk(client, method="ab", keys=["button_color"]) == (
        200, {"result": "Successfully enrolled in ab tests"})
    value = sdk(client, method="rc", keys=["button_color"])[1]["button_color"]
    exp = sdk(client, method="ab_fetch_experiments")[1][0]
    assert exp["variants"][exp["currentVariant"]]["button_color"] == value
    assert sdk(client, method="ab_enroll_variant", key="button_color",
               variant="Variant A") == (200, {"result": "Success"})
    assert sdk(client, method="ab_fetch_experiments")[1][0]["currentVariant"] == "Variant A"
    assert sdk(client, method="ab_fetch_variants", keys=["nope"]) == (200, {})


def test_ab_write_methods_on_i(client, receiver):
    base = dict(app_key="APPKEY", device_id="w1")
    assert client.get("/i?" + qs(method="ab_enroll_variant", **base)) == (
        400, b'{"result":"Invalid request, key is missing"}')
    assert client.get("/i?" + qs(method="ab_enroll_variant", key="button_color",
                                 variant="Nope", **base)) == (
        400, b'{"result":"Variant not found"}')
    assert client.get("/i?" + qs(method="ab_enroll_variant", key="button_color",
                                 variant="Variant A", **base)) == (200, SUCCESS)
    assert sdk(client, method="rc", device_id="w1", keys=["button_color"])[1] == {
        "button_color": "red"}
    assert client.post("/i/sdk", qs(method="ab_opt_out", keys=["button_color"], **base)) == (
        200, SUCCESS)
    assert sdk(client, method="rc", device_id="w1", keys=["button_color"])[1] == {}
    assert [r["action"] for r in receiver.rows("ab")] == ["ab_enroll_variant", "ab_opt_out"]
    assert [r["method"] for r in receiver.rows("sdk_requests", device_id="w1")] == [
        "ab_enroll_variant", "ab_enroll_variant", "ab_enroll_variant", "rc", "ab_opt_out", "rc"]


def test_post_and_checksum_on_o_sdk(client, receiver):
    receiver.set_app("APPKEY", salt="s3cr3t")
    s = "app_key=APPKEY&device_id=d1&method=rc&keys=%5B%22feature_x%22%5D"
    good = hashlib.sha256((s + "s3cr3t").encode()).hexdigest()
    assert client.get("/o/sdk?%s&checksum256=%s" % (s, good)) == (200, b'{"feature_x":true}')
    assert client.post("/o/sdk", "%s&checksum256=%s" % (s, good)) == (
        200, b'{"feature_x":true}')
    assert client.post("/o/sdk", "%s&checksum256=%s" % (s, "0" * 64)) == (
        200, b'{"result":"Request does not match checksum"}')
    assert client.get("/o/sdk?" + s) == (200, b'{"result":"Request does not have checksum"}')
    assert [r["status"] for r in receiver.rows("sdk_requests")] == [200, 200, 200, 200]


def test_validation_on_o_sdk(client, receiver):
    msg = {"result": 'Missing parameter "app_key" or "device_id"'}
    assert sdk(client, method="rc", device_id="") == (400, msg)
    assert sdk(client, method="rc", app_key="NOPE") == (400, {"result": "App does not exist"})
    assert sdk(client, method="rc", device_id="00000000-0000-0000-0000-000000000000") == (
        200, {"result": "Ignoring device_id"})
    assert sdk(client, method="nope") == (400, {"result": "Invalid method"})


def test_sdk_requests_record_what_was_asked(client, receiver):
    sdk(client, method="rc", keys=["a", "b"], metrics={"_os": "MP"})
    sdk(client, method="fetch_remote_config", omit_keys=["c"], device_id="d2")
    sdk(client, method="rc", app_key="NOPE")
    client.get("/o/feedback/widget?widget_id=" + RATING)
    rows = client.json("/_receiver/sdk_requests")
    assert [(r["method"], r["device_id"], r["keys"], r["omit_keys"], r["status"]) for r in rows] \
        == [("rc", "d1", ["a", "b"], None, 200), ("fetch_remote_config", "d2", None, ["c"], 200),
            ("rc", "d1", None, None, 400), ("feedback_widget", None, None, None, 200)]
    assert rows[0]["params"]["metrics"] == '{"_os":"MP"}' and rows[0]["answer"] == "{}"
    assert client.json("/_receiver/sdk_requests?method=rc&device_id=d1")[1]["app_key"] == "NOPE"


def test_fixtures_changed_between_downloads(client, receiver):
    assert sdk(client, method="rc", keys=["welcome_text"])[1] == {
        "welcome_text": "Hello from the receiver"}
    ctl = "/_receiver/fixtures?token=" + receiver.token
    assert client.post(ctl, json.dumps({"remote_config": {"welcome_text": "v2", "new": 1}}),
                       "application/json") == (200, SUCCESS)
    assert sdk(client, method="rc")[1] == {"welcome_text": "v2", "new": 1}
    # Per app, and the sc answer too.
    assert client.post(ctl, json.dumps({"app_key": "APPKEY", "server_config": {
        "v": 2, "c": {"rqs": 5}}}), "application/json") == (200, SUCCESS)
    assert sdk(client, method="sc")[1]["c"] == {"rqs": 5}
    assert client.post(ctl, json.dumps({"remote_cofnig": {}}), "application/json") == (
        400, b'{"result":"unknown fixture key \'remote_cofnig\' in fixtures"}')
    assert client.post(ctl, json.dumps({"widgets": []}), "application/json")[0] == 400
    receiver.set_fixtures({"feedback_widgets": []})
    assert sdk(client, method="feedback")[1] == {"result": []}


def test_feedback_widgets_and_documents(client):
    got = sdk(client, method="feedback")[1]["result"]
    assert [(w["_id"], w["type"]) for w in got] == [(NPS, "nps"), (SURVEY, "survey"),
                                                    (RATING, "rating")]
    assert all(set(w) >= {"_id", "type", "name", "tg"} for w in got)
    for kind, wid, field in (("nps", NPS, "msg"), ("survey", SURVEY, "questions"),
                             ("rating", RATING, "ratings_texts")):
        status, doc = client.get("/o/surveys/%s/widget?widget_id=%s&shown=1" % (kind, wid))
        assert status == 200 and field in json.loads(doc)
    assert client.get("/o/surveys/nps/widget?widget_id=" + RATING) == (
        404, b'{"result":"Widget not found."}')
    assert client.get("/o/surveys/survey/widget") == (
        400, b'{"result":"Missing parameter \\"widget_id\\""}')
    assert client.get("/o/feedback/widget?widget_id=" + NPS)[0] == 404


def test_sc_shape(client, clock):
    status, sc = sdk(client, method="sc")
    assert status == 200 and list(sc) == ["v", "t", "c"] and sc["t"] == clock.ms
    assert sc["c"]["lkl"] == 128


def test_health_check_recorded(client, receiver):
    hc = {"el": 2, "wl": 5, "sc": 400, "em": "Could not ingest data", "bom": 1, "cbom": 0}
    assert client.get("/i?" + qs(app_key="APPKEY", device_id="h1", hc=hc,
                                 metrics={"_app_version": "1.0"})) == (200, SUCCESS)
    [h] = client.json("/_receiver/health_checks?device_id=h1")
    assert (h["el"], h["wl"], h["sc"], h["em"], h["bom"], h["cbom"]) == (
        2, 5, 400, "Could not ingest data", 1, 0)
    assert h["hc"] == hc and h["metrics"] == {"_app_version": "1.0"}


def test_feedback_answers_stored(client, receiver):
    evs = [{"key": "[CLY]_nps", "segmentation": {"widget_id": NPS, "rating": 9,
                                                 "comment": "nice", "platform": "MicroPython",
                                                 "app_version": "1.0"}},
           {"key": "[CLY]_survey", "segmentation": {"widget_id": SURVEY, "answ-q1": "ok",
                                                    "answ-q2": "c1"}},
           {"key": "[CLY]_star_rating", "segmentation": {"widget_id": RATING, "rating": 4,
                                                         "email": "a@b.c", "contactMe": True}},
           {"key": "[CLY]_nps", "segmentation": {"widget_id": NPS, "closed": "1"}}]
    assert client.get("/i?" + qs(app_key="APPKEY", device_id="fb", events=evs)) == (
        200, SUCCESS)
    rows = receiver.rows("feedback")
    assert [(r["type"], r["widget_id"], r["rating"], r["closed"]) for r in rows] == [
        ("nps", NPS, 9, 0), ("survey", SURVEY, None, 0), ("rating", RATING, 4, 0),
        ("nps", NPS, None, 1)]
    assert rows[0]["comment"] == "nice" and rows[0]["platform"] == "MicroPython"
    assert rows[1]["answers"] == {"answ-q1": "ok", "answ-q2": "c1"}
    assert (rows[2]["email"], rows[2]["contact_me"]) == ("a@b.c", "true")


@pytest.fixture
def lite(clock):
    from countly_receiver import Receiver

    r = Receiver(apps={"APPKEY": None}, clock=clock, lite=True,
                 fixtures=os.path.join(TOOLS, "receiver_fixtures.example.json")).start()
    c = Client(r.port)
    yield r, c
    c.close()
    r.stop()


def test_lite_sdk_endpoints(lite):
    r, c = lite
    got = sdk(c, method="feedback")[1]["result"]
    assert [w["_id"] for w in got] == [RATING]
    assert got[0]["appearance"]["size"] == "m" and got[0]["showPolicy"] == "afterPageLoad"
    for m in ("ab_fetch_variants", "ab_fetch_experiments", "ab_enroll_variant", "ab_opt_out"):
        assert sdk(c, method=m, key="button_color", variant="Variant A") == (
            400, {"result": "Invalid method"}), m
    assert sdk(c, method="rc", oi="1", keys=["button_color"]) == (200, {})
    assert sdk(c, method="ab", keys=["button_color"])[0] == 200
    assert r.rows("ab")[0]["variant"] is None  # logged, nobody enrolled
    assert c.get("/o/surveys/nps/widget?widget_id=" + NPS) == (
        400, b'{"result":"Invalid path"}')
    assert c.get("/o/feedback/widget?widget_id=" + RATING)[0] == 200


def test_lite_drops_enterprise_data(lite):
    r, c = lite
    evs = [{"key": "[CLY]_nps", "segmentation": {"widget_id": NPS, "rating": 9}},
           {"key": "[CLY]_survey", "segmentation": {"widget_id": SURVEY}},
           {"key": "[CLY]_star_rating", "segmentation": {"widget_id": RATING, "rating": 5}},
           {"key": "plain"}]
    assert c.get("/i?" + qs(app_key="APPKEY", device_id="l1", events=evs,
                            user_details={"name": "Ann"}, campaign_id="c1",
                            apm={"type": "device", "name": "app_start",
                                 "apm_metrics": {"duration": 5}})) == (200, SUCCESS)
    assert [e["key"] for e in r.rows("events")] == ["[CLY]_star_rating", "plain"]
    assert [f["type"] for f in r.rows("feedback")] == ["rating"]
    assert r.rows("apm") == [] and r.rows("attribution") == []
    assert r.rows("devices")[0]["profile"] is None
    notes = r.rows("requests")[0]["notes"]
    assert "not stored (Enterprise data on a Lite server): user_details, apm, campaign_id" in \
        notes
    assert any("[CLY]_nps dropped" in n for n in notes)
