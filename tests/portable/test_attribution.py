# test_attribution.py - direct (campaign_id / attribution_data) and indirect (`aid`) attribution.
# Runs under pytest and under `micropython -X heapsize=128k`.

import json

from featkit import make, sent

from countly_mp.attribution import AttributionKey


def test_direct_countly_campaign():
    ly, p, t = make(manual_sessions=True)
    assert ly.attribution.record_direct("countly", '{"cid":"c-1","cuid":"u-1"}')
    assert ly.attribution.record_direct("countly", '{"cid":"c-2","cuid":5}')
    assert ly.attribution.record_direct("_special_test", '{"any":"thing"}')
    reqs = sent(ly, t)
    assert reqs[0]["campaign_id"] == "c-1" and reqs[0]["campaign_user"] == "u-1"
    assert reqs[1]["campaign_id"] == "c-2" and "campaign_user" not in reqs[1]
    assert reqs[2]["attribution_data"] == '{"any":"thing"}'


def test_direct_invalid():
    ly, p, t = make(manual_sessions=True)
    assert ly.attribution.record_direct("countly", "") is False
    assert ly.attribution.record_direct("countly", "not json") is False
    assert ly.attribution.record_direct("countly", '{"cuid":"u"}') is False
    assert ly.attribution.record_direct("other", '{"cid":"c"}') is False
    assert ly.attribution.record_direct(None, None) is False
    assert sent(ly, t) == []


def test_indirect_keys_validated():
    ly, p, t = make(manual_sessions=True)
    assert AttributionKey.IDFA == "idfa" and AttributionKey.ADVERTISING_ID == "adid"
    assert ly.attribution.record_indirect({AttributionKey.ADVERTISING_ID: "ad-1", "": "x",
                                           "k": "", "n": None, 5: "v", "custom": "c"})
    assert ly.attribution.record_indirect({"": ""}) is False
    assert ly.attribution.record_indirect("adid") is False
    reqs = sent(ly, t)
    assert len(reqs) == 1 and json.loads(reqs[0]["aid"]) == {"adid": "ad-1", "custom": "c"}


def test_config_values_sent_at_init_and_consent():
    ly, p, t = make(direct_attribution=("countly", '{"cid":"c-9"}'),
                    indirect_attribution={"idfa": "i-1"})
    reqs = sent(ly, t)
    assert "begin_session" in reqs[0]
    assert reqs[1]["campaign_id"] == "c-9" and json.loads(reqs[2]["aid"]) == {"idfa": "i-1"}
    ly2, p2, t2 = make(manual_sessions=True, require_consent=True, consents=["sessions"],
                       indirect_attribution={"idfa": "i-1"})
    assert ly2.attribution.record_indirect({"adid": "a"}) is False
    assert [r for r in sent(ly2, t2) if "aid" in r] == []
