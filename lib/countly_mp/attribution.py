# attribution.py - install attribution: direct (campaign type and data) and indirect (ad IDs).
# Each call, and the values given in Config, go out at once in a request of their own.
# Needs the "attribution" consent.

from .compat import dumps, loads

_M = "Attribution"


class AttributionKey:
    IDFA = "idfa"
    ADVERTISING_ID = "adid"


class Attribution:
    def __init__(self, core):
        self._core = core

    def _allowed(self, function):
        if self._core.consent_has("attribution"):
            return True
        self._core.log.w(_M, function, "no attribution consent, ignored")
        return False

    def record_direct(self, campaign_type, campaign_data):
        core = self._core
        try:
            core.log.i(_M, "record_direct", "type=[%s]", campaign_type)
            if not self._allowed("record_direct"):
                return False
            if not isinstance(campaign_data, str) or campaign_data == "":
                core.log.e(_M, "record_direct", "campaign data must be a non-empty string")
                return False
            if campaign_type == "_special_test":
                return core.enqueue([("attribution_data", campaign_data)])
            if campaign_type != "countly":
                core.log.e(_M, "record_direct", "unsupported campaign type, ignored")
                return False
            try:
                data = loads(campaign_data)
            except Exception:
                data = None
            if not isinstance(data, dict):
                core.log.e(_M, "record_direct", "campaign data is not a JSON object")
                return False
            cid = data.get("cid")
            if not isinstance(cid, str) or cid == "":
                core.log.e(_M, "record_direct", "campaign ID (cid) missing or invalid")
                return False
            params = [("campaign_id", cid)]
            cuid = data.get("cuid")
            if isinstance(cuid, str) and cuid != "":
                params.append(("campaign_user", cuid))
            elif cuid is not None:
                core.log.w(_M, "record_direct", "invalid campaign user ID (cuid) left out")
            return core.enqueue(params)
        except Exception as e:
            core.internal_error(_M, "record_direct", e)
            return False

    def record_indirect(self, values):
        core = self._core
        try:
            core.log.i(_M, "record_indirect")
            if not self._allowed("record_indirect"):
                return False
            if not isinstance(values, dict):
                core.log.e(_M, "record_indirect", "values must be a dict")
                return False
            clean = {}
            for k in values:
                v = values[k]
                if not isinstance(k, str) or k == "" or not isinstance(v, str) or v == "":
                    core.log.e(_M, "record_indirect", "invalid key or value removed")
                    continue
                clean[k] = v[: core.config.max_value_size]
            if not clean:
                core.log.e(_M, "record_indirect", "no valid value left, nothing sent")
                return False
            return core.enqueue([("aid", dumps(clean))])
        except Exception as e:
            core.internal_error(_M, "record_indirect", e)
            return False

    def at_init(self):
        cfg = self._core.config
        direct = cfg.direct_attribution
        if isinstance(direct, (list, tuple)) and len(direct) == 2:
            self.record_direct(direct[0], direct[1])
        elif direct is not None:
            self._core.log.e(_M, "init", "direct_attribution must be (type, data)")
        if cfg.indirect_attribution is not None:
            self.record_indirect(cfg.indirect_attribution)
