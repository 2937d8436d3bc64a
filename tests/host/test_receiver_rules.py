# test_receiver_rules.py - the receiver applies the Countly server's /i, checksum, dedup rules
import hashlib
import json
import urllib.parse

from conftest import FAKE_NOW_MS

SUCCESS = b'{"result":"Success"}'
DUPLICATE = b'{"result":"Success","info":"Request ignored: Duplicate request"}'
NO_CHECKSUM = b'{"result":"Request does not have checksum"}'
BAD_CHECKSUM = b'{"result":"Request does not match checksum"}'
# Worked checksum examples of the Countly server's algorithm (salt s3cr3t).
S_GET = "app_key=APPKEY&device_id=dev1&timestamp=1700000000000&begin_session=1"
S_GET_256 = "E337BE6AC5236C6CC07BD82028E0D820E14A5B2A3979D6FE24397327D2BEF4AA"
S_GET_SHA1 = "FD8F690349DBB1083A26423687A49E956203EA7B"
S_POST = ("app_key=APPKEY&device_id=dev1&timestamp=1700000000000&events=%5B%7B%22key%22%3A%22"
          "click%22%2C%22count%22%3A1%7D%5D")
S_POST_256 = "2BA0F3365A319F2080001A3A0B666BE6032CF5C0567C9D5500F7E0DDE5AB522F"


def qs(**params):
    # Fully percent-encoded, order kept; dict/list values are sent as JSON.
    items = [(k, v if isinstance(v, str) else json.dumps(v, separators=(",", ":")))
             for k, v in params.items()]
    return urllib.parse.urlencode(items, safe="", quote_via=urllib.parse.quote)


def i(client, **params):
    params.setdefault("app_key", "APPKEY")
    params.setdefault("device_id", "d1")
    return client.get("/i?" + qs(**params))


# -- validation order -----------------------------------------------------------------------

def test_missing_app_key_or_device_id(client, receiver):
    msg = b'{"result":"Missing parameter \\"app_key\\" or \\"device_id\\""}'
    assert client.get("/i?device_id=d1") == (400, msg)
    assert client.get("/i?app_key=APPKEY&device_id=") == (400, msg)
    assert client.get("/o/sdk?app_key=APPKEY&method=rc") == (400, msg)
    assert receiver.rows("devices") == []
    assert [r["status"] for r in receiver.rows("requests")] == [400, 400, 400]


def test_zero_idfa_ignored_before_app_lookup(client, receiver):
    dev = "00000000-0000-0000-0000-000000000000"
    assert i(client, app_key="NOPE", device_id=dev, begin_session="1") == (
        200, b'{"result":"Ignoring device_id"}')
    assert receiver.rows("devices") == [] and receiver.rows("sessions") == []


def test_unknown_and_paused_app(client, receiver):
    assert i(client, app_key="NOPE") == (400, b'{"result":"App does not exist"}')
    receiver.set_app("PAUSED", paused=True)
    assert i(client, app_key="PAUSED") == (
        400, b'{"result":"App is currently not accepting data"}')
    # A paused app still serves /o/sdk.
    assert client.get("/o/sdk?" + qs(app_key="PAUSED", device_id="d", method="rc",
                                     keys=["feature_x"])) == (200, b'{"feature_x":true}')
    assert receiver.rows("devices") == []


def test_global_app_id_user_id_400(client):
    assert client.get("/i?app_id=short&app_key=APPKEY&device_id=d") == (
        400, b'{"result":"Invalid parameter \\"app_id\\""}')
    assert client.get("/o/sdk?user_id=x") == (400, b'{"result":"Invalid parameter \\"user_id\\""}')
    assert i(client, app_id="a" * 24) == (200, SUCCESS)


def test_paused_checked_before_checksum(client, receiver):
    receiver.set_app("APPKEY", salt="s3cr3t", paused=True)
    assert client.get("/i?" + S_GET) == (400, b'{"result":"App is currently not accepting data"}')


# -- checksum ---------------------------------------------------------------------------------

def salted(receiver):
    receiver.set_app("APPKEY", salt="s3cr3t")


def test_checksum256_get_worked_example(client, receiver):
    salted(receiver)
    assert client.get("/i?%s&checksum256=%s" % (S_GET, S_GET_256)) == (200, SUCCESS)
    assert len(receiver.rows("sessions", device_id="dev1")) == 1


def test_checksum256_lowercase_accepted(client, receiver):
    salted(receiver)
    assert client.get("/i?%s&checksum256=%s" % (S_GET, S_GET_256.lower())) == (200, SUCCESS)


def test_checksum_sha1_legacy_and_precedence(client, receiver):
    salted(receiver)
    assert client.get("/i?%s&checksum=%s" % (S_GET, S_GET_SHA1)) == (200, SUCCESS)
    # With both present, sha1 `checksum` decides: a right checksum256 does not help...
    assert client.get("/i?%s&checksum256=%s&checksum=00" % (S_GET, S_GET_256)) == (
        200, BAD_CHECKSUM)
    # ...and a wrong one does not hurt (it stays in the sha1 payload).
    payload = "%s&checksum256=00" % S_GET.replace("dev1", "dev9")
    sha1 = hashlib.sha1((payload + "s3cr3t").encode()).hexdigest()
    assert client.get("/i?%s&checksum=%s" % (payload, sha1)) == (200, SUCCESS)


def test_checksum_post_worked_example(client, receiver):
    salted(receiver)
    assert client.post("/i", "%s&checksum256=%s" % (S_POST, S_POST_256)) == (200, SUCCESS)
    [ev] = receiver.rows("events", device_id="dev1")
    assert (ev["key"], ev["count"]) == ("click", 1)


def test_checksum_missing_and_mismatch(client, receiver):
    salted(receiver)
    assert client.get("/i?" + S_GET) == (200, NO_CHECKSUM)
    assert client.get("/i?%s&checksum256=%s" % (S_GET, "AB" * 32)) == (200, BAD_CHECKSUM)
    # Tampered param: same checksum, different payload.
    assert client.get("/i?%s&checksum256=%s" % (S_GET.replace("dev1", "dev2"), S_GET_256)) == (
        200, BAD_CHECKSUM)
    assert receiver.rows("devices") == [] and receiver.rows("sessions") == []
    assert [r["answer"] for r in receiver.rows("requests")] == [
        NO_CHECKSUM.decode(), BAD_CHECKSUM.decode(), BAD_CHECKSUM.decode()]


def test_checksum_not_last_breaks(client, receiver):
    # Only the first "&checksum256=v" is removed; at the front the leftover "&" breaks it.
    salted(receiver)
    assert client.get("/i?checksum256=%s&%s" % (S_GET_256, S_GET)) == (200, BAD_CHECKSUM)


def test_checksum_post_either_candidate_quirk(client, receiver):
    # POST without a query string: P1 is "", so sha256("" + salt) passes for any body.
    salted(receiver)
    empty = hashlib.sha256(b"s3cr3t").hexdigest()
    assert client.post("/i", "app_key=APPKEY&device_id=q&checksum256=" + empty) == (200, SUCCESS)
    # And a correct query checksum passes whatever the body says.
    assert client.post("/i?%s&checksum256=%s" % (S_GET, S_GET_256), "device_id=zz") == (
        200, SUCCESS)


def test_checksum_json_body_cannot_match(client, receiver):
    salted(receiver)
    body = json.dumps({"app_key": "APPKEY", "device_id": "dev1", "timestamp": "1700000000000",
                       "begin_session": "1", "checksum256": S_GET_256})
    assert client.post("/i", body, "application/json") == (200, BAD_CHECKSUM)


def test_checksum_multipart_uses_decoded_fields(client, receiver):
    salted(receiver)
    fields = [("app_key", "APPKEY"), ("device_id", "dev 1"), ("timestamp", "1700000000000")]
    joined = "&".join("%s=%s" % kv for kv in fields)
    cs = hashlib.sha256((joined + "s3cr3t").encode()).hexdigest()
    fields.append(("checksum256", cs))
    b = "XyZb0undary"
    body = "".join('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (b, k, v)
                   for k, v in fields) + "--%s--\r\n" % b
    assert client.post("/i", body, "multipart/form-data; boundary=" + b) == (200, SUCCESS)
    assert receiver.rows("devices")[0]["device_id"] == "dev 1"


def test_checksum_applies_to_o_sdk(client, receiver):
    salted(receiver)
    assert client.get("/o/sdk?app_key=APPKEY&device_id=d&method=sc") == (200, NO_CHECKSUM)


# -- dedup and timestamps ---------------------------------------------------------------------

def test_dedup_identical_retry_ignored(client, receiver):
    assert i(client, timestamp="1700000000000", events=[{"key": "a"}]) == (200, SUCCESS)
    assert i(client, timestamp="1700000000000", events=[{"key": "a"}]) == (200, DUPLICATE)
    assert len(receiver.rows("events")) == 1


def test_dedup_ignores_rr_and_checksum_but_not_timestamp(client, receiver):
    assert i(client, timestamp="1700000000000", rr="3", events=[{"key": "a"}]) == (200, SUCCESS)
    assert i(client, timestamp="1700000000000", rr="2", events=[{"key": "a"}]) == (200, DUPLICATE)
    assert i(client, timestamp="1700000000001", rr="2", events=[{"key": "a"}]) == (200, SUCCESS)
    assert len(receiver.rows("events")) == 2


def test_dedup_is_per_user_and_last_request_only(client, receiver):
    a = dict(timestamp="1700000000000", events=[{"key": "a"}])
    assert i(client, **a) == (200, SUCCESS)
    assert i(client, device_id="d2", **a) == (200, SUCCESS)
    assert i(client, timestamp="1700000000005") == (200, SUCCESS)
    assert i(client, **a) == (200, SUCCESS)  # not the user's last request any more
    assert len(receiver.rows("events")) == 3


def test_dedup_without_timestamp_uses_server_ms(client, receiver, clock):
    assert i(client, events=[{"key": "a"}]) == (200, SUCCESS)
    assert i(client, events=[{"key": "a"}]) == (200, DUPLICATE)
    clock.advance(1)
    assert i(client, events=[{"key": "a"}]) == (200, SUCCESS)


def test_dedup_post_body(client, receiver):
    body = ("app_key=APPKEY&device_id=d1&timestamp=1700000000000"
            "&events=%5B%7B%22key%22%3A%22a%22%7D%5D")
    assert client.post("/i", body) == (200, SUCCESS)
    assert client.post("/i", body + "&rr=1") == (200, DUPLICATE)


def test_timestamp_rules(client, receiver, clock):
    i(client, device_id="past", timestamp="1600000000000", begin_session="1")
    i(client, device_id="sec", timestamp="1600000000", begin_session="1")
    i(client, device_id="future", timestamp=str(FAKE_NOW_MS + 86400000), begin_session="1")
    i(client, device_id="micro", timestamp="1600000000000000", begin_session="1")
    i(client, device_id="junk", timestamp="soon", begin_session="1")
    got = {s["device_id"]: s["begin_ms"] for s in receiver.rows("sessions")}
    assert got == {"past": 1600000000000, "sec": 1600000000000, "future": FAKE_NOW_MS,
                   "micro": FAKE_NOW_MS, "junk": FAKE_NOW_MS}


def test_event_timestamp_clamped(client, receiver):
    i(client, events=[{"key": "late", "timestamp": FAKE_NOW_MS + 5000},
                      {"key": "old", "timestamp": 1500000000000}, {"key": "none"}],
      timestamp="1600000000000")
    assert [(e["key"], e["timestamp"]) for e in receiver.rows("events")] == [
        ("late", FAKE_NOW_MS), ("old", 1500000000000), ("none", 1600000000000)]


# -- sessions ---------------------------------------------------------------------------------

def test_session_lifecycle(client, receiver):
    t0 = 1690000000000
    assert i(client, begin_session="1", timestamp=str(t0),
             metrics={"_os": "MicroPython", "_app_version": "1.0"}) == (200, SUCCESS)
    i(client, session_duration="60", timestamp=str(t0 + 60000))
    i(client, end_session="1", session_duration="12", timestamp=str(t0 + 72000))
    [s] = receiver.rows("sessions")
    assert (s["begin_ms"], s["end_ms"], s["duration_s"], s["open"]) == (t0, t0 + 72000, 72, 0)
    [d] = receiver.rows("devices")
    assert d["session_count"] == 1 and d["total_duration_s"] == 72
    assert d["metrics"] == {"_os": "MicroPython", "_app_version": "1.0"}


def test_session_duration_cap_negative_zero(client, receiver):
    i(client, begin_session="1", timestamp="1690000000000")
    i(client, session_duration="100000", timestamp="1690000000001")
    i(client, session_duration="-5", timestamp="1690000000002")
    i(client, session_duration="0", timestamp="1690000000003")
    i(client, session_duration="abc", timestamp="1690000000004")
    assert receiver.rows("sessions")[0]["duration_s"] == 86400 + 30


def test_session_cooldown_extends(client, receiver):
    t0 = 1690000000000
    i(client, begin_session="1", timestamp=str(t0))
    i(client, end_session="1", timestamp=str(t0 + 10000))
    i(client, begin_session="1", timestamp=str(t0 + 24000))  # 14 s after the end
    [s] = receiver.rows("sessions")
    assert (s["open"], s["extended"], s["end_ms"]) == (1, 1, None)
    assert receiver.rows("devices")[0]["session_count"] == 1
    i(client, end_session="1", timestamp=str(t0 + 30000))
    i(client, begin_session="1", timestamp=str(t0 + 45000))  # exactly 15 s: a new session
    assert len(receiver.rows("sessions")) == 2
    assert receiver.rows("devices")[0]["session_count"] == 2


def test_session_ignore_cooldown(client, receiver):
    t0 = 1690000000000
    i(client, begin_session="1", timestamp=str(t0))
    i(client, end_session="1", ignore_cooldown="1", timestamp=str(t0 + 1000))
    i(client, begin_session="1", timestamp=str(t0 + 2000))
    i(client, end_session="1", timestamp=str(t0 + 3000))
    i(client, begin_session="1", ignore_cooldown="1", timestamp=str(t0 + 4000))
    assert len(receiver.rows("sessions")) == 3


def test_session_implicit_close_and_end_without_session(client, receiver):
    i(client, end_session="1", timestamp="1690000000000")
    assert receiver.rows("sessions") == []
    assert receiver.rows("devices")[0]["last_end_ms"] is None
    i(client, begin_session="1", timestamp="1690000000000")
    i(client, begin_session="1", timestamp="1690000100000")
    s1, s2 = receiver.rows("sessions")
    assert (s1["open"], s1["end_ms"], s1["end_reason"]) == (0, 1690000100000, "implicit")
    assert s2["open"] == 1


# -- events -----------------------------------------------------------------------------------

def test_event_fields_stored(client, receiver):
    ev = {"key": "purchase", "count": 1, "sum": 9.999999, "dur": 3.5,
          "segmentation": {"plan": "pro", "ünï": "çödé & = ?"}, "timestamp": 1690000000123,
          "hour": 14, "dow": 2, "id": "evt-1", "pvid": "v2", "cvid": "view-3", "peid": "e0"}
    assert i(client, events=[ev], hour="3", dow="0") == (200, SUCCESS)
    [e] = receiver.rows("events")
    assert e["key"] == "purchase" and e["count"] == 1 and e["sum"] == 10.0
    assert e["dur"] == 3.5 and e["segmentation"] == ev["segmentation"]
    assert (e["timestamp"], e["hour"], e["dow"]) == (1690000000123, 14, 2)
    assert (e["event_id"], e["pvid"], e["cvid"], e["peid"]) == ("evt-1", "v2", "view-3", "e0")


def test_event_count_sum_rules_and_defaults(client, receiver):
    evs = [{"key": "a"}, {"key": "b", "count": "3.7"}, {"key": "c", "count": "x"},
           {"key": "d", "count": 2, "sum": 1.123456789}, {"key": "e", "sum": "nope"}]
    i(client, events=evs, hour="5", dow="1")
    got = [(e["key"], e["count"], e["sum"], e["hour"], e["dow"]) for e in receiver.rows("events")]
    assert got == [("a", 1, None, 5, 1), ("b", 3, None, 5, 1), ("c", 1, None, 5, 1),
                   ("d", 2, 1.12346, 5, 1), ("e", 1, None, 5, 1)]


def test_event_key_rules(client, receiver):
    evs = [{"count": 1}, {"key": ""}, {"key": "k" * 128}, {"key": "k" * 127},
           {"key": "[CLY]_view", "segmentation": {"name": "home", "visit": 1}},
           {"key": "[CLY]_action", "segmentation": {"type": "click"}},
           {"key": "[CLY]_star_rating"}, {"key": "[CLY]_nps"}, {"key": "[CLY]_survey"},
           {"key": "[CLY]_push_action"}, {"key": "[CLY]_consent"}, {"key": "[CLY]_session"},
           {"key": "[CLY]_custom"}, {"key": 42},
           {"key": "[CLY]_orientation", "segmentation": {"mode": "portrait"}}]
    assert i(client, events=evs) == (200, SUCCESS)
    assert [e["key"] for e in receiver.rows("events")] == [
        "k" * 127, "[CLY]_view", "[CLY]_action", "[CLY]_star_rating", "[CLY]_nps",
        "[CLY]_survey", "[CLY]_push_action", "42"]
    assert receiver.rows("devices")[0]["ornt"] == "portrait"


def test_bad_events_json_still_success(client, receiver):
    assert client.get("/i?app_key=APPKEY&device_id=d1&events=%5B%7Bbroken") == (200, SUCCESS)
    assert client.get("/i?app_key=APPKEY&device_id=d1&events=%7B%7D&timestamp=1") == (
        200, SUCCESS)
    assert receiver.rows("events") == []
    assert len(receiver.rows("devices")) == 1


def test_json_body_with_real_arrays(client, receiver):
    body = json.dumps({"app_key": "APPKEY", "device_id": "j1", "events": [{"key": "x"}],
                       "begin_session": 1})
    assert client.post("/i", body, "application/json") == (200, SUCCESS)
    assert [e["key"] for e in receiver.rows("events", device_id="j1")] == ["x"]
    assert len(receiver.rows("sessions", device_id="j1")) == 1


def test_body_overrides_query(client, receiver):
    assert client.post("/i?app_key=APPKEY&device_id=fromquery", "device_id=frombody") == (
        200, SUCCESS)
    assert [d["device_id"] for d in receiver.rows("devices")] == ["frombody"]


# -- crashes -----------------------------------------------------------------------------------

def test_crash_accepted_and_stored(client, receiver):
    crash = {"_os": "MicroPython", "_os_version": "1.22", "_app_version": "1.0",
             "_error": "Traceback (most recent call last):\n  File x\nValueError: boom",
             "_nonfatal": True, "_run": 42, "_logs": "boot\nwifi up",
             "_custom": {"board": "esp32"}}
    assert client.post("/i", qs(app_key="APPKEY", device_id="c1", crash=crash)) == (200, SUCCESS)
    [c] = receiver.rows("crashes")
    assert c["name"] == "Traceback (most recent call last):"
    assert (c["nonfatal"], c["app_version"], c["os"], c["os_version"]) == (
        1, "1.0", "MicroPython", "1.22")
    assert c["logs"] == "boot\nwifi up" and c["run"] == 42 and c["custom"] == {"board": "esp32"}
    assert c["crash"] == crash


def test_crash_required_fields(client, receiver):
    base = {"_error": "e", "_app_version": "1.0", "_os": "MP"}
    for missing in ("_error", "_app_version", "_os"):
        c = {k: v for k, v in base.items() if k != missing}
        assert i(client, crash=c, timestamp=str(1690000000000 + len(missing))) == (200, SUCCESS)
    assert receiver.rows("crashes") == []
    c = {"_error": "e", "_app_version": "1.0", "_not_os_specific": True}
    assert i(client, crash=c) == (200, SUCCESS)
    [row] = receiver.rows("crashes")
    assert row["nonfatal"] == 0 and row["os"] is None


# -- user details, consent, location, merge, apm, attribution ----------------------------------

def test_user_details_modifiers(client, receiver):
    i(client, timestamp="1", user_details={
        "name": "Ann", "byear": 1990,
        "custom": {"plan": "pro", "logins": {"$inc": 1}, "tags": {"$addToSet": ["iot"]},
                   "first": {"$setOnce": "a"}, "m": {"$max": 5}, "n": {"$min": 5},
                   "x": {"$mul": 3}, "gone": "bye", "list": {"$push": ["a", "b"]}}})
    i(client, timestamp="2", user_details={
        "email": "a@b.c",
        "custom": {"logins": {"$inc": 2}, "tags": {"$addToSet": ["iot", "esp"]},
                   "first": {"$setOnce": "b"}, "m": {"$max": 3}, "n": {"$min": 3},
                   "gone": "", "list": {"$pull": ["a"]}, "plan": "free"}})
    prof = receiver.rows("devices")[0]["profile"]
    assert prof == {"name": "Ann", "byear": 1990, "email": "a@b.c",
                    "custom": {"plan": "free", "logins": 3, "tags": ["iot", "esp"],
                               "first": "a", "m": 5, "n": 3, "x": 0, "list": ["b"]}}


def test_consent_changes_recorded(client, receiver):
    i(client, timestamp="1", consent={"sessions": True, "events": True, "crashes": False})
    i(client, timestamp="2", consent={"sessions": True, "crashes": True})
    i(client, timestamp="3", consent={"sessions": True})
    rows = receiver.rows("consent")
    assert [r["changes"] for r in rows] == [
        {"sessions": True, "events": True, "crashes": False}, {"crashes": True}]
    assert receiver.rows("devices")[0]["consent"] == {
        "sessions": True, "events": True, "crashes": True}


def test_location_set_and_opt_out(client, receiver):
    i(client, timestamp="1", country_code="TR", city="Istanbul", location="41.0082,28.9784",
      ip_address="10.1.2.3")
    d = receiver.rows("devices")[0]
    assert (d["country_code"], d["city"], d["lat"], d["lon"], d["ip_address"]) == (
        "TR", "Istanbul", 41.0082, 28.9784, "10.1.2.3")
    # Empty location= on begin_session: opted out.
    i(client, timestamp="2", begin_session="1", location="")
    d = receiver.rows("devices")[0]
    assert (d["country_code"], d["city"], d["lat"], d["lon"], d["location_opt_out"]) == (
        "Unknown", "Unknown", None, None, 1)
    assert [r["opt_out"] for r in receiver.rows("location")] == [0, 1]


def test_old_device_id_merge(client, receiver):
    i(client, device_id="old", begin_session="1", timestamp="1690000000000",
      events=[{"key": "before"}], user_details={"name": "Old", "custom": {"a": 1}})
    assert i(client, device_id="new", old_device_id="old", timestamp="1690000001000",
             events=[{"key": "after"}]) == (200, SUCCESS)
    assert [d["device_id"] for d in receiver.rows("devices")] == ["new"]
    assert [e["key"] for e in receiver.rows("events", device_id="new")] == ["before", "after"]
    assert len(receiver.rows("sessions", device_id="new")) == 1
    assert receiver.rows("devices")[0]["profile"] == {"name": "Old", "custom": {"a": 1}}
    [m] = receiver.rows("merges")
    assert (m["old_device_id"], m["new_device_id"], m["old_found"]) == ("old", "new", 1)
    assert m["moved"]["events"] == 1 and m["moved"]["sessions"] == 1


def test_merge_into_existing_user_and_same_id(client, receiver):
    i(client, device_id="a", timestamp="1", user_details={"name": "A", "custom": {"x": 1}})
    i(client, device_id="b", timestamp="2", user_details={"custom": {"y": 2}},
      begin_session="1")
    i(client, device_id="b", old_device_id="a", timestamp="3")
    [d] = receiver.rows("devices")
    assert d["device_id"] == "b" and d["profile"] == {"name": "A", "custom": {"x": 1, "y": 2}}
    assert d["session_count"] == 1
    i(client, device_id="b", old_device_id="b", timestamp="4")
    assert len(receiver.rows("merges")) == 1


def test_apm_and_attribution(client, receiver):
    apm = {"type": "network", "name": "/api/x", "stz": 1690000000000, "etz": 1690000001330,
           "apm_metrics": {"response_time": 1330, "response_code": 200}}
    i(client, timestamp="1", apm=apm, count="1")
    [a] = receiver.rows("apm")
    assert (a["type"], a["name"], a["stz"], a["etz"]) == ("network", "/api/x", 1690000000000,
                                                          1690000001330)
    assert a["apm_metrics"] == apm["apm_metrics"] and json.loads(a["data"]) == apm
    i(client, timestamp="2", campaign_id="cmp", campaign_user="u1", aid={"adid": "x"})
    [t] = receiver.rows("attribution")
    assert (t["campaign_id"], t["campaign_user"], t["aid"]) == ("cmp", "u1", '{"adid":"x"}')
    assert receiver.rows("devices")[0]["attribution"]["campaign_id"] == "cmp"


def test_base_params_stored(client, receiver):
    i(client, sdk_name="python-micro", sdk_version="0.1.0", tz="180", av="1.0", rr="4",
      hc={"el": 1, "wl": 0, "sc": 200, "em": ""})
    d = receiver.rows("devices")[0]
    assert (d["sdk_name"], d["sdk_version"], d["tz"], d["av"], d["rr"]) == (
        "python-micro", "0.1.0", 180, "1.0", "4")
    assert d["hc"] == {"el": 1, "wl": 0, "sc": 200, "em": ""}


# -- /i/bulk ------------------------------------------------------------------------------------

def test_bulk(client, receiver):
    reqs = [{"device_id": "b1", "begin_session": 1, "timestamp": 1690000000000},
            {"device_id": "b2", "app_key": "APPKEY", "events": [{"key": "x"}]},
            {"events": "[]"}, {"device_id": "b3", "app_key": "NOPE"}]
    assert client.post("/i/bulk", qs(app_key="APPKEY", requests=reqs)) == (200, SUCCESS)
    assert len(receiver.rows("sessions", device_id="b1")) == 1
    assert [e["key"] for e in receiver.rows("events", device_id="b2")] == ["x"]
    items = [r for r in receiver.rows("requests") if r["parent_id"]]
    assert [(r["device_id"], r["status"]) for r in items] == [
        ("b1", 200), ("b2", 200), ("b3", 400)]


def test_bulk_errors(client, receiver):
    assert client.get("/i/bulk?app_key=APPKEY") == (
        400, b'{"result":"Missing parameter \\"requests\\""}')
    assert client.get("/i/bulk?requests=%7B%7D") == (
        400, b'{"result":"Invalid parameter \\"requests\\""}')
    assert client.get("/i/bulk?requests=nope") == (
        400, b'{"result":"Invalid parameter \\"requests\\""}')
    assert client.get("/i/bulk?" + qs(requests=[{"device_id": "x"}])) == (200, SUCCESS)
    assert receiver.rows("devices") == []


def test_bulk_dedup_and_salt(client, receiver):
    item = {"device_id": "b1", "timestamp": 1690000000000, "events": [{"key": "x"}]}
    client.post("/i/bulk", qs(app_key="APPKEY", requests=[item, item]))
    assert len(receiver.rows("events")) == 1
    client.post("/i/bulk", qs(app_key="SALTED", requests=[{"device_id": "s1"}]))
    assert receiver.rows("devices", app_key="SALTED") == []


# -- /o/sdk and widgets ---------------------------------------------------------------------

def sdk(client, **params):
    params.setdefault("app_key", "APPKEY")
    params.setdefault("device_id", "d1")
    return client.get("/o/sdk?" + qs(**params))


def test_rc_keys_and_omit(client):
    status, body = sdk(client, method="rc")
    assert status == 200 and json.loads(body)["welcome_text"] == "Hello from the receiver"
    assert sdk(client, method="rc", keys=["feature_x", "missing"]) == (200, b'{"feature_x":true}')
    assert sdk(client, method="fetch_remote_config", omit_keys=["welcome_text", "colors"]) == (
        200, b'{"send_interval_s":60,"feature_x":true}')
    # Unparsable lists are ignored.
    assert json.loads(sdk(client, method="rc", keys="[broken")[1])["send_interval_s"] == 60
    assert client.get("/o/sdk?app_key=APPKEY&device_id=d&method=rc&keys=%5B%22feature_x%22%5D"
                      ) == (200, b'{"feature_x":true}')


def test_rc_per_app_override(client, receiver):
    receiver.set_app("OTHER_APP_KEY")
    assert sdk(client, app_key="OTHER_APP_KEY", method="rc", keys=["welcome_text"]) == (
        200, b'{"welcome_text":"Hello, other app"}')


def test_ab_methods(client, receiver):
    assert sdk(client, method="ab") == (400, b'{"result":"Missing Keys"}')
    assert sdk(client, method="ab", keys=["button_color"]) == (
        200, b'{"result":"Successfully enrolled in ab tests"}')
    status, body = sdk(client, method="ab_fetch_variants")
    assert json.loads(body) == {"button_color": [{"name": "Control group", "value": "blue"},
                                                 {"name": "Variant A", "value": "red"}]}
    assert sdk(client, method="ab_enroll_variant", variant="x") == (
        400, b'{"result":"Invalid request, key is missing"}')
    assert sdk(client, method="ab_enroll_variant", key="button_color", variant="Nope") == (
        400, b'{"result":"Variant not found"}')
    assert client.get("/i/sdk?" + qs(app_key="APPKEY", device_id="d1", method="ab_enroll_variant",
                                     key="button_color", variant="Variant A")) == (200, SUCCESS)
    assert sdk(client, method="rc", keys=["button_color"]) == (200, b'{"button_color":"red"}')
    assert sdk(client, method="ab_opt_out") == (200, SUCCESS)
    assert sdk(client, method="rc", keys=["button_color"]) == (200, b"{}")
    assert [r["action"] for r in receiver.rows("ab")] == ["ab", "ab_enroll_variant", "ab_opt_out"]
    assert json.loads(sdk(client, method="ab_fetch_experiments")[1])[0]["id"] == "exp1"


def test_feedback_sc_and_invalid_method(client, clock):
    status, body = sdk(client, method="feedback")
    assert status == 200 and [w["type"] for w in json.loads(body)["result"]] == [
        "nps", "survey", "rating"]
    status, body = sdk(client, method="sc")
    sc = json.loads(body)
    assert list(sc) == ["v", "t", "c"] and sc["t"] == clock.ms and sc["c"]["rqs"] == 1000
    assert sdk(client, method="nope") == (400, b'{"result":"Invalid method"}')
    assert sdk(client) == (400, b'{"result":"Invalid method"}')


def test_o_sdk_metrics_processed(client, receiver):
    sdk(client, method="rc", metrics={"_os": "MicroPython"})
    assert receiver.rows("devices")[0]["metrics"] == {"_os": "MicroPython"}


def test_widgets(client):
    wid = "614811419f030e44be07d82f"
    status, body = client.get("/o/surveys/nps/widget?widget_id=%s&shown=1" % wid)
    assert status == 200 and json.loads(body)["msg"]["thanks"] == "Thanks!"
    status, body = client.get("/o/feedback/widget?widget_id=614811419f030e44be07d831")
    assert status == 200 and json.loads(body)["type"] == "rating"
    assert client.get("/o/feedback/widget") == (
        400, b'{"result":"Missing parameter \\"widget_id\\""}')
    assert client.get("/o/feedback/widget?widget_id=nope") == (
        404, b'{"result":"Widget not found."}')
