# test_location.py - location params: the guide's four test scenarios, opt-out and consent.
# Runs under pytest and under `micropython -X heapsize=128k`.

from featkit import make, sent

_LOC = ("country_code", "city", "location", "ip_address")


def shape(reqs):
    # Each request as ("begin"|"loc"|"end"|other, {location params it carries}).
    out = []
    for r in reqs:
        kind = "begin" if "begin_session" in r else "end" if "end_session" in r else (
            "consent" if "consent" in r else "loc")
        if kind == "end":
            continue
        out.append((kind, dict((k, r[k]) for k in _LOC if k in r)))
    return out


def restart_session(ly):
    # The app going to the background and back: the automatic session ends and begins again.
    ly.sessions.end_now()
    ly.sessions.begin_now()


def test_scenario_1_set_location_sometime_after_init():
    ly, p, t = make()
    ly.location.set(gps="56.9,24.1")
    restart_session(ly)
    restart_session(ly)
    g = {"location": "56.9,24.1"}
    assert shape(sent(ly, t)) == [("begin", {}), ("loc", g), ("begin", g), ("begin", g)]


def test_scenario_2_location_during_init_and_a_separate_call():
    ly, p, t = make(location_city="Riga", location_country_code="LV")
    ly.location.set(gps=(56.9, 24.1))
    restart_session(ly)
    restart_session(ly)
    g = {"location": "56.9,24.1"}
    assert shape(sent(ly, t)) == [("begin", {"city": "Riga", "country_code": "LV"}),
                                  ("loc", g), ("begin", g), ("begin", g)]


def test_scenario_3_location_during_init_and_after_begin_session_calls():
    ly, p, t = make(location_city="Riga", location_country_code="LV")
    ly.location.set(gps="1,2")
    restart_session(ly)
    ly.location.set(ip="10.0.0.1")
    restart_session(ly)
    g, ip = {"location": "1,2"}, {"ip_address": "10.0.0.1"}
    assert shape(sent(ly, t)) == [("begin", {"city": "Riga", "country_code": "LV"}),
                                  ("loc", g), ("begin", g), ("loc", ip), ("begin", ip)]


def test_scenario_4_location_before_first_begin_session():
    # No automatic session at init (manual sessions): the guide sends the init values in a
    # request of their own first; the rest is the scenario as written.
    ly, p, t = make(manual_sessions=True, location_city="Riga", location_country_code="LV")
    ly.location.set(gps="1,2", ip="10.0.0.1")
    ly.sessions.begin()
    ly.location.set(country_code="EE", city="Tartu", gps="3,4")
    ly.sessions.end()
    ly.sessions.begin()
    a = {"location": "1,2", "ip_address": "10.0.0.1"}
    b = {"country_code": "EE", "city": "Tartu", "location": "3,4"}
    assert shape(sent(ly, t)) == [("loc", {"city": "Riga", "country_code": "LV"}),
                                  ("loc", a), ("begin", a), ("loc", b), ("begin", b)]


def test_disabled_at_init_sends_empty_location_on_every_begin():
    ly, p, t = make(disable_location=True, location_city="Riga", location_country_code="LV")
    assert ly.location.disable()  # already disabled: no second request
    restart_session(ly)
    assert shape(sent(ly, t)) == [("begin", {"location": ""}), ("begin", {"location": ""})]


def test_disable_after_init_and_reenable_with_set():
    ly, p, t = make(location_city="Riga", location_country_code="LV")
    ly.location.disable()
    restart_session(ly)
    ly.location.set(city="Riga", country_code="LV")
    restart_session(ly)
    rl = {"city": "Riga", "country_code": "LV"}
    assert shape(sent(ly, t)) == [("begin", rl), ("loc", {"location": ""}),
                                  ("begin", {"location": ""}), ("loc", rl), ("begin", rl)]


def test_consent_no_location_consent_and_removal():
    ly, p, t = make(require_consent=True, consents=["sessions"], location_city="Riga",
                    location_country_code="LV")
    assert ly.location.set(gps="1,2") is False
    ly.consent.give("location")
    ly.location.set(gps="1,2")
    ly.consent.remove("location")
    reqs = shape(sent(ly, t))
    assert reqs == [("consent", {}), ("begin", {"location": ""}), ("consent", {}),
                    ("loc", {"location": "1,2"}), ("loc", {"location": ""}), ("consent", {})]


def test_invalid_values_and_missing_pairs():
    ly, p, t = make(manual_sessions=True)
    assert ly.location.set(gps="north") is False  # nothing valid left
    assert ly.location.set(gps=(1, 2, 3), city=5) is False
    assert ly.location.set(city="Riga")  # warned: city without country, still sent
    assert shape(sent(ly, t)) == [("loc", {"city": "Riga"})]


def test_values_are_cut_to_256_characters_so_every_begin_session_fits():
    # Each begin_session repeats the cached location: an unbounded city would make every
    # later session request too large to queue (found by the API fuzzer).
    ly, p, t = make(manual_sessions=True)
    assert ly.location.set("LV", "R" * 8000, None, "1" * 300)
    assert ly.sessions.begin()
    reqs = sent(ly, t)
    assert [len(r["city"]) for r in reqs] == [256, 256]
    assert [len(r["ip_address"]) for r in reqs] == [256, 256]
