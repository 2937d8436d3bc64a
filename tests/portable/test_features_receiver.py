# test_features_receiver.py - each feature end to end against the local receiver over real HTTP:
# what the receiver stored, not only what the SDK sent. Kept apart from the feature modules so
# that their MicroPython processes never load the HTTP client (the heap is 128 KiB).


from fakes import T0
from featkit import real



def test_apm_receiver_apm_rows():
    import recv

    ly, p = real(manual_sessions=True)
    ly.apm.start_trace("load")
    p.advance(50)
    ly.apm.end_trace("load")
    ly.apm.record_network_trace("/o/sdk", 200, 10, 20, T0, T0 + 100)
    assert ly.flush() == 2
    rows = recv.rows("apm", device_id=ly.device_id.get())
    assert [(r["type"], r["name"]) for r in rows] == [("device", "load"), ("network", "/o/sdk")]
    assert rows[0]["apm_metrics"]["duration"] == 50
    assert rows[1]["apm_metrics"]["response_time"] == 100


def test_attribution_receiver_attribution():
    import recv

    ly, p = real(manual_sessions=True)
    ly.attribution.record_direct("countly", '{"cid":"camp","cuid":"cu"}')
    ly.attribution.record_indirect({"adid": "ad-9"})
    assert ly.flush() == 2
    rows = recv.rows("attribution", device_id=ly.device_id.get())
    assert rows[0]["campaign_id"] == "camp" and rows[0]["campaign_user"] == "cu"
    assert "ad-9" in rows[1]["aid"]


def test_consent_receiver_consent_table():
    import recv

    from countly_mp.consent import Consent  # here, not at the top: the test heap is 128 KiB

    ly, p = real(manual_sessions=True, require_consent=True, consents=[Consent.EVENTS])
    ly.consent.give(Consent.CRASHES)
    assert ly.flush() == 2, ly.pending()
    dev = recv.rows("devices", device_id=ly.device_id.get())[0]
    assert dev["consent"]["events"] is True and dev["consent"]["crashes"] is True
    assert dev["consent"]["sessions"] is False
    assert len(recv.rows("consent", device_id=ly.device_id.get())) == 2


def test_crashes_receiver_stores_crash():
    import recv

    ly, p = real(manual_sessions=True, app_version="3.1")
    ly.crashes.add_breadcrumb("wifi up")
    ly.crashes.record_error("sensor timeout", "in read()", nonfatal=False)
    assert ly.flush() == 1
    rows = recv.rows("crashes", device_id=ly.device_id.get())
    assert len(rows) == 1
    r = rows[0]
    assert r["name"] == "sensor timeout" and r["nonfatal"] == 0 and r["logs"] == "wifi up"
    assert r["app_version"] == "3.1" and r["os"] == "TestOS"


def test_device_id_receiver_merge():
    import recv

    ly, p = real(manual_sessions=True, event_queue_threshold=1)
    old = ly.device_id.get()
    ly.events.record("anon")
    ly.device_id.change(old + "-user", merge=True)
    ly.events.record("known")
    assert ly.flush() == 3
    m = recv.rows("merges", new_device_id=old + "-user")
    assert len(m) == 1 and m[0]["old_device_id"] == old
    keys = [r["key"] for r in recv.rows("events", device_id=old + "-user")]
    assert sorted(keys) == ["anon", "known"]


def test_location_receiver_stores_location():
    import recv

    ly, p = real(manual_sessions=True)
    ly.location.set(country_code="LV", city="Riga", gps="56.95,24.1", ip="10.1.2.3")
    assert ly.flush() == 1
    rows = recv.rows("location", device_id=ly.device_id.get())
    assert len(rows) == 1
    r = rows[0]
    assert r["country_code"] == "LV" and r["city"] == "Riga" and r["ip_address"] == "10.1.2.3"
    assert abs(r["lat"] - 56.95) < 1e-6 and abs(r["lon"] - 24.1) < 1e-6 and r["opt_out"] == 0


def test_segment_receiver_track():
    import recv

    ly, p = real(manual_sessions=True)
    from countly_mp.segment import Analytics

    Analytics(ly).track("Order Completed", {"revenue": 5, "sku": "B2"})
    assert Analytics(ly).flush() == 1
    rows = recv.rows("events", device_id=ly.device_id.get())
    assert rows[0]["key"] == "Order Completed" and rows[0]["sum"] == 5
    assert rows[0]["segmentation"] == {"sku": "B2"}


def test_user_receiver_profile():
    import recv

    ly, p = real(manual_sessions=True)
    ly.user.set_properties({"name": "Bo", "byear": 1980, "plan": "pro"})
    ly.user.increment_by("logins", 2)
    ly.user.push("tags", "a")
    ly.user.push("tags", "b")
    ly.user.save()
    assert ly.flush() == 1
    prof = recv.rows("devices", device_id=ly.device_id.get())[0]["profile"]
    assert prof["name"] == "Bo" and prof["byear"] == 1980
    assert prof["custom"]["plan"] == "pro" and prof["custom"]["logins"] == 2
    assert prof["custom"]["tags"] == ["a", "b"]


def test_views_receiver_stores_view_events():
    import recv

    ly, p = real(manual_sessions=True)
    ly.views.start("main")
    p.advance(1200)
    ly.views.stop()
    assert ly.flush() == 1
    rows = recv.rows("events", device_id=ly.device_id.get())
    assert [r["key"] for r in rows] == ["[CLY]_view", "[CLY]_view"]
    assert rows[0]["segmentation"]["name"] == "main" and rows[0]["segmentation"]["visit"] == 1
    assert rows[1]["dur"] == 1.2
