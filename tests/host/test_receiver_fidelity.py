# test_receiver_fidelity.py - rules a client could break here unnoticed and be caught by on a
# real server: event aggregation limits and rewrites, crash fields, Community Edition answers.
import json
import urllib.parse

SUCCESS = b'{"result":"Success"}'


def qs(**params):
    items = [(k, v if isinstance(v, str) else json.dumps(v, separators=(",", ":")))
             for k, v in params.items()]
    return urllib.parse.urlencode(items, safe="", quote_via=urllib.parse.quote)


def send(client, events=None, device_id="d1", **params):
    if events is not None:
        params["events"] = events
    params.setdefault("app_key", "APPKEY")
    return client.post("/i", qs(device_id=device_id, **params))


def agg(receiver, key, segment=""):
    return {r["value"]: (r["count"], r["sum"]) for r in receiver.rows(
        "aggregates", key=key, segment=segment)}


def test_segmentation_keys_rewritten_arrays_cut(client, receiver):
    seg = {"a.b": "x", "$price": 1, "$$x.y": "z", "list": list(range(15)), "ok": "v"}
    assert send(client, [{"key": "e", "segmentation": seg}]) == (200, SUCCESS)
    [e] = receiver.rows("events")
    assert e["segmentation"] == {"list": list(range(10)), "ok": "v", "ab": "x", "price": 1,
                                 "xy": "z"}
    assert "segment key 'a.b' rewritten to 'ab'" in e["warnings"]
    assert "segment 'list': array cut to 10 items" in e["warnings"]
    # Arrays count per event but are ignored in aggregates.
    assert receiver.rows("aggregates", key="e", segment="list") == []
    assert agg(receiver, "e", "ab") == {"x": (1, 0)}
    # The raw request is kept as sent.
    assert json.loads(receiver.rows("requests")[0]["params"]["events"])[0]["segmentation"] == seg


def test_aggregated_values_and_totals(client, receiver):
    evs = [{"key": "buy", "count": 2, "sum": 1.5, "segmentation": {"day": "7", "v": "1.2",
                                                                   "n": 31, "m": "32"}},
           {"key": "buy", "count": 0, "segmentation": {"day": "7", "v": "$x", "e": ""}},
           {"key": "$sys.x", "count": "3x"}]
    assert send(client, evs) == (200, SUCCESS)
    assert agg(receiver, "buy") == {"": (3, 1.5)}  # count 0 counts as 1, as on the server
    assert agg(receiver, "buy", "day") == {"[CLY]7": (3, 1.5)}
    assert agg(receiver, "buy", "v") == {"1:2": (2, 1.5), "x": (1, 0)}
    assert agg(receiver, "buy", "n") == {"[CLY]31": (2, 1.5)}
    assert agg(receiver, "buy", "m") == {"32": (2, 1.5)}
    assert agg(receiver, "buy", "e") == {}
    # fixEventKey drops "$" and "system."-like prefixes from the aggregated key.
    assert agg(receiver, "sys.x") == {"": (1, 0)}
    assert [e["count"] for e in receiver.rows("events")] == [2, 1, 1]


def test_event_key_of_128_characters_dropped(client, receiver):
    assert send(client, [{"key": "k" * 128}, {"key": "k" * 127}, {"key": "$" + "k" * 127}]) \
        == (200, SUCCESS)
    assert [len(e["key"]) for e in receiver.rows("events")] == [127, 128]
    assert receiver.rows("aggregates", key="k" * 127)[0]["count"] == 2
    assert "event key of 128+ characters dropped" in receiver.rows("requests")[0]["notes"]


def test_at_most_100_segment_keys_per_event(client, receiver):
    seg = {"s%03d" % n: "v" for n in range(101)}
    assert send(client, [{"key": "wide", "segmentation": seg}]) == (200, SUCCESS)
    segments = {r["segment"] for r in receiver.rows("aggregates", key="wide")} - {""}
    assert len(segments) == 100 and "s100" not in segments
    [e] = receiver.rows("events")
    assert len(e["segmentation"]) == 101
    assert "segment 's100' not aggregated: 100 segment keys already" in e["warnings"]
    # The limit is per event key across requests; a known key still aggregates.
    send(client, [{"key": "wide", "segmentation": {"s000": "w", "new": "x"}}], timestamp="2")
    assert agg(receiver, "wide", "s000") == {"v": (1, 0), "w": (1, 0)}
    assert agg(receiver, "wide", "new") == {}


def test_at_most_500_event_keys_per_app(client, receiver):
    for batch in range(5):
        evs = [{"key": "k%03d" % (batch * 100 + n)} for n in range(100)]
        assert send(client, evs, timestamp=str(batch + 1)) == (200, SUCCESS)
    assert send(client, [{"key": "k000"}, {"key": "k500"}], timestamp="9") == (200, SUCCESS)
    *_, known, extra = receiver.rows("events")
    assert (known["key"], known["aggregated"]) == ("k000", 1)
    assert (extra["key"], extra["aggregated"], extra["warnings"]) == (
        "k500", 0, ["not aggregated: the app already has 500 event keys"])
    assert agg(receiver, "k000") == {"": (2, 0)} and agg(receiver, "k500") == {}
    receiver.set_app("OTHER")
    assert send(client, [{"key": "k500"}], app_key="OTHER") == (200, SUCCESS)
    assert receiver.rows("aggregates", app_key="OTHER", key="k500")[0]["count"] == 1


def test_crash_memory_figures_checked(client, receiver):
    base = {"_error": "Traceback\nValueError", "_app_version": "1.0", "_os": "MicroPython"}
    crashes = [
        dict(base, _ram_current=120, _ram_total=320, _disk_current=1, _disk_total=4, _bat=80),
        dict(base, _ram_total=4194304, _ram_current=100),        # KB sent as MB
        dict(base, _ram_current=400, _ram_total=320),             # current above total
        dict(base, _disk_current="lots", _bat=250),
    ]
    for n, c in enumerate(crashes):
        assert send(client, crash=c, timestamp=str(n + 1)) == (200, SUCCESS)
    rows = receiver.rows("crashes")
    assert rows[0]["crash_warnings"] is None
    assert rows[1]["crash_warnings"] == ["_ram_total=4194304 looks like KB or bytes, not MB"]
    assert rows[2]["crash_warnings"] == ["_ram_current=400 is larger than _ram_total=320"]
    assert rows[3]["crash_warnings"] == ["_disk_current='lots' is not a number of MB",
                                         "_bat=250 is not a percentage"]


def test_crash_without_required_fields_noted(client, receiver):
    assert send(client, crash={"_error": "e", "_app_version": "1.0"}) == (200, SUCCESS)
    assert receiver.rows("crashes") == []
    assert receiver.rows("requests")[0]["notes"] == [
        "crash ignored, required field(s) missing: _os"]


def test_unregistered_internal_event_noted(client, receiver):
    assert send(client, [{"key": "[CLY]_custom"}, {"key": "fine"}]) == (200, SUCCESS)
    assert [e["key"] for e in receiver.rows("events")] == ["fine"]
    assert receiver.rows("requests")[0]["notes"] == [
        "internal event [CLY]_custom dropped (not registered on this server)"]


def test_zero_sum_and_dur_kept_per_event(client, receiver):
    # The server keeps a 0 sum or dur on the event (drill) and adds nothing to aggregates.
    assert send(client, [{"key": "z", "sum": 0, "dur": 0}, {"key": "z", "sum": "n/a"}]) == (
        200, SUCCESS)
    assert [(e["sum"], e["dur"]) for e in receiver.rows("events")] == [(0, 0), (None, None)]
    assert agg(receiver, "z") == {"": (2, 0)}
