# test_user.py - `user_details`: named fields, custom properties, the nine modifiers, limits.
# Runs under pytest and under `micropython -X heapsize=128k`.

import json

from featkit import make, only, sent


def details(ly, t):
    return [json.loads(r["user_details"]) for r in only(sent(ly, t), "user_details")]


def test_named_top_level_others_custom_empty_is_null_none_ignored():
    ly, p, t = make(manual_sessions=True)
    assert ly.user.set_properties({"name": "Ann", "email": "a@x.io", "byear": 1990,
                                   "plan": "pro", "gender": "", "phone": None, "org": None})
    assert ly.pending() == 0  # cached until save()
    assert ly.user.save()
    assert ly.user.save() is False  # nothing left to send
    d = details(ly, t)
    assert d == [{"name": "Ann", "email": "a@x.io", "byear": 1990, "gender": None,
                  "custom": {"plan": "pro"}}]


def test_each_modifier_json():
    ly, p, t = make(manual_sessions=True)
    u = ly.user
    assert u.set("a", "x") and u.set_once("b", "y") and u.increment("c")
    assert u.increment_by("d", 5) and u.multiply("e", 2) and u.max("f", 10) and u.min("g", 1)
    assert u.push("h", "p1") and u.push("h", "p2") and u.push_unique("i", "q")
    assert u.pull("j", "r") and u.set("k", "")
    u.save()
    c = details(ly, t)[0]["custom"]
    assert c == {"a": "x", "b": {"$setOnce": "y"}, "c": {"$inc": 1}, "d": {"$inc": 5},
                 "e": {"$mul": 2}, "f": {"$max": 10}, "g": {"$min": 1},
                 "h": {"$push": ["p1", "p2"]}, "i": {"$addToSet": ["q"]},
                 "j": {"$pull": ["r"]}, "k": None}


def test_limits_and_bad_input():
    ly, p, t = make(manual_sessions=True)
    u = ly.user
    assert u.set("k" * 200, "v" * 300)
    # picture is exempt from max_value_size (its own limit is 4096; a whole request must still
    # fit in one flash-queue record, so the test stays below that)
    assert u.set_properties({"picture": "http://" + "p" * 2000, "name": "n" * 300})
    assert u.increment_by("n", "five") is False and u.multiply("n", float("nan")) is False
    assert u.set(None, 1) is False and u.set("x", None) is False and u.set("y", [1]) is False
    assert u.set_properties("nope") is False
    assert u.set_properties({"byear": "1990"}) is False
    u.save()
    d = details(ly, t)[0]
    assert len(d["picture"]) == 2007 and len(d["name"]) == 256
    assert d["custom"] == {"k" * 128: "v" * 256}


def test_saved_before_device_id_change_session_end_and_stop():
    ly, p, t = make()
    ly.user.set("plan", "a")
    ly.device_id.change("dev2")
    ly.user.set("plan", "b")
    ly.stop()
    reqs = sent(ly, t)
    kinds = []
    for r in reqs:
        for k in ("begin_session", "end_session", "user_details"):
            if k in r:
                kinds.append((k, r["device_id"]))
    assert kinds == [("begin_session", "dev1"), ("user_details", "dev1"),
                     ("end_session", "dev1"), ("begin_session", "dev2"),
                     ("user_details", "dev2"), ("end_session", "dev2")]


def test_users_consent():
    ly, p, t = make(manual_sessions=True, require_consent=True, consents=["sessions"])
    assert ly.user.set("a", 1) is False
    ly.consent.give("users")
    ly.user.set("a", 1)
    ly.consent.remove("users")  # cached changes are dropped
    ly.consent.give("users")
    assert ly.user.save() is False
    assert details(ly, t) == []


def test_modifiers_whose_combination_is_no_json_number_go_one_by_one():
    # 1e200 * -1e200 is -inf, which JSON cannot carry (found by the API fuzzer): the cached
    # $mul goes first, then the second one, each a finite number.
    ly, p, t = make(manual_sessions=True)
    assert ly.user.multiply("k", 1e200) and ly.user.multiply("k", -1e200)
    assert ly.user.save()
    muls = [json.loads(r["user_details"])["custom"]["k"]["$mul"]
            for r in only(sent(ly, t), "user_details")]
    assert muls == [1e200, -1e200]
