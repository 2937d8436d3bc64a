# sdk_endpoints.py - the /o/sdk (and /i/sdk) methods and the feedback widget paths, answered
# from the fixtures as a Countly server answers them: remote config with conditions and A/B
# variants, A/B enrollment, feedback widget lists and documents, SDK server configuration.
#
# Every request to these paths is recorded in the sdk_requests table (method, keys, params,
# answer), so an SDK test can assert what was asked. A/B enrollments live in memory (cleared by
# reset) and are logged in the ab table. Lite mode answers as a Community Edition server: no
# ab-testing or surveys plugin (ab_* methods are unknown, /o/surveys/* is an invalid path, oi=1
# enrolls nobody) and method=feedback lists rating widgets only.

import hashlib

from . import rules
from .answer import bare, result
from .jsvalues import js_str, js_truthy, json_text, parse_json_param
from .store import cap_params

_WIDGET_TYPES = ("nps", "survey", "rating")
_ENTERPRISE_METHODS = ("ab_fetch_variants", "ab_fetch_experiments", "ab_enroll_variant",
                       "ab_opt_out")
WRITE_METHODS = ("ab_enroll_variant", "ab_opt_out")


def _list_param(p, name):
    # keys / omit_keys: a JSON array; anything unparsable is ignored, as the server does.
    v = parse_json_param(p.get(name))
    return v if isinstance(v, list) else None


class SdkEndpoints:
    def __init__(self, store, fixtures, ingest, lite=False):
        self.store = store
        self.fixtures = fixtures
        self.ingest = ingest
        self.lite = lite
        self.enrolled = {}  # (app_key, device_id) -> {param: variant name}

    def reset(self):
        self.enrolled.clear()

    def merge(self, key, old, new):
        ab = self.enrolled.pop((key, old), None)
        if ab:
            self.enrolled.setdefault((key, new), {}).update(ab)

    def fetch(self, ctx, app, key, dev, now):
        # /o/sdk and /i/sdk after the app checks: metrics and location are processed (not for a
        # paused app), then the method answers.
        p = ctx.params
        if not app["paused"] and ("metrics" in p or any(
                k in p for k in ("country_code", "city", "location", "ip_address"))):
            self.store.touch_device(key, dev, now)
            self.ingest.metrics(key, dev, p)
            self.ingest.location(ctx, key, dev, now, begin=False)
        method = js_str(p.get("method", ""))
        if self.lite and method in _ENTERPRISE_METHODS:
            return result(400, rules.MSG_INVALID_METHOD)
        handler = getattr(self, "_m_" + method, None) if method else None
        if handler is None:
            return result(400, rules.MSG_INVALID_METHOD)
        return handler(ctx, app, key, dev, now)

    def record(self, ctx, key, dev, ans, now):
        p = ctx.params
        method = ctx.path.split("/")[3] + "_widget" if ctx.path.startswith("/o/surveys/") \
            else ("feedback_widget" if ctx.path == "/o/feedback/widget"
                  else js_str(p.get("method", "")) or None)
        keys, omit = _list_param(p, "keys"), _list_param(p, "omit_keys")
        self.store.insert(
            "sdk_requests", request_id=ctx.request_id, app_key=key, device_id=dev,
            path=ctx.path, method=method, keys=None if keys is None else json_text(keys),
            omit_keys=None if omit is None else json_text(omit), params=cap_params(p, 16384),
            status=ans.status or None, answer=ans.text()[:16384], received_ms=now)

    # -- remote config and A/B ------------------------------------------------------------------

    def _values(self, key, dev, p):
        # Priority: the device's A/B variant, then the first matching condition, then default.
        values = self.fixtures.get(key, "remote_config", {})
        metrics = self.store.device_json(key, dev, "metrics")
        req_metrics = parse_json_param(p.get("metrics"))
        if isinstance(req_metrics, dict):
            metrics.update(req_metrics)
        chosen = set()
        for cond in self.fixtures.get(key, "remote_config_conditions", []):
            if _matches(cond, dev, metrics):
                for k, v in (cond.get("values") or {}).items():
                    if k not in chosen:
                        values[k] = v
                        chosen.add(k)
        variants = self.fixtures.get(key, "ab_variants", {})
        for param, vname in self.enrolled.get((key, dev), {}).items():
            for v in variants.get(param, []):
                if v.get("name") == vname:
                    values[param] = v.get("value")
        return values

    def _enroll(self, key, dev, params):
        # Puts the device into each A/B test on these params it is not in yet; the variant is
        # picked from a hash of the device id, so a device always lands in the same one.
        # -> {param: variant} of the new enrollments.
        if self.lite:
            return {}
        variants = self.fixtures.get(key, "ab_variants", {})
        mine = self.enrolled.setdefault((key, dev), {})
        added = {}
        for param in params:
            if not isinstance(param, str) or param in mine or not variants.get(param):
                continue
            names = [v.get("name") for v in variants[param]]
            pick = int(hashlib.sha1((dev + "\0" + param).encode()).hexdigest(), 16) % len(names)
            mine[param] = added[param] = names[pick]
        return added

    def _m_rc(self, ctx, app, key, dev, now):
        p = ctx.params
        keys, omit = _list_param(p, "keys"), _list_param(p, "omit_keys")
        if js_str(p.get("oi", "")) == "1" and not app["paused"]:
            params = self.fixtures.get(key, "ab_variants", {})
            wanted = [k for k in params if (keys is None or k in keys)
                      and (omit is None or k not in omit)]
            added = self._enroll(key, dev, wanted)
            if added:
                self._ab_log(ctx, key, dev, "rc_oi", wanted, json_text(added), now)
        values = self._values(key, dev, p)
        if keys is not None:
            values = {k: values[k] for k in keys if isinstance(k, str) and k in values}
        elif omit is not None:
            values = {k: v for k, v in values.items() if k not in omit}
        return bare(values)

    # The legacy method answers as rc does (enrollment only with oi=1).
    _m_fetch_remote_config = _m_rc

    def _ab_log(self, ctx, key, dev, action, keys, variant, now):
        self.store.insert("ab", request_id=ctx.request_id, app_key=key, device_id=dev,
                          action=action, keys=None if keys is None else json_text(keys),
                          variant=variant, timestamp=now)

    def _m_ab(self, ctx, app, key, dev, now):
        if not js_truthy(ctx.params.get("keys")):
            return result(400, "Missing Keys")
        keys = _list_param(ctx.params, "keys")
        added = self._enroll(key, dev, keys) if keys and not app["paused"] else {}
        self._ab_log(ctx, key, dev, "ab", keys, json_text(added) if added else None, now)
        return result(200, "Successfully enrolled in ab tests")

    def _m_ab_fetch_variants(self, ctx, app, key, dev, now):
        variants = self.fixtures.get(key, "ab_variants", {})
        keys = _list_param(ctx.params, "keys")
        if keys:
            variants = {k: v for k, v in variants.items() if k in keys}
        return bare(variants)

    def _m_ab_fetch_experiments(self, ctx, app, key, dev, now):
        mine = self.enrolled.get((key, dev), {})
        out = self.fixtures.get(key, "ab_experiments", [])
        for exp in out:
            params = set()
            for v in (exp.get("variants") or {}).values():
                params.update(v or {})
            for param in sorted(params):
                if param in mine:
                    exp["currentVariant"] = mine[param]
                    break
        return bare(out)

    def _m_ab_enroll_variant(self, ctx, app, key, dev, now):
        param = ctx.params.get("key")
        if not js_truthy(param):
            return result(400, "Invalid request, key is missing")
        param, vname = js_str(param), js_str(ctx.params.get("variant", ""))
        names = [v.get("name") for v in self.fixtures.get(key, "ab_variants", {}).get(param, [])]
        if vname not in names:
            return result(400, "Variant not found")
        self.enrolled.setdefault((key, dev), {})[param] = vname
        self._ab_log(ctx, key, dev, "ab_enroll_variant", [param], vname, now)
        return result(200, "Success")

    def _m_ab_opt_out(self, ctx, app, key, dev, now):
        keys = _list_param(ctx.params, "keys")
        mine = self.enrolled.get((key, dev), {})
        for k in list(mine) if not keys else keys:
            if isinstance(k, str):
                mine.pop(k, None)
        self._ab_log(ctx, key, dev, "ab_opt_out", keys, None, now)
        return result(200, "Success")

    # -- feedback and server configuration --------------------------------------------------------

    def _m_feedback(self, ctx, app, key, dev, now):
        widgets = self.fixtures.get(key, "feedback_widgets", [])
        if not self.lite:
            return bare({"result": widgets})
        # A Lite server lists active rating widgets only, with their appearance and showPolicy.
        docs = self.fixtures.get(key, "widgets", {})
        out = []
        for w in widgets:
            doc = docs.get(js_str(w.get("_id")), {})
            if w.get("type") != "rating" or doc.get("status") is False:
                continue
            w = dict(w)
            w["appearance"] = doc.get("appearance", w.get("appearance", {}))
            w["showPolicy"] = doc.get("showPolicy", w.get("showPolicy", "afterPageLoad"))
            out.append(w)
        return bare({"result": out})

    def _m_sc(self, ctx, app, key, dev, now):
        sc = self.fixtures.get(key, "server_config", {})
        return bare({"v": sc.get("v", 2), "t": now, "c": sc.get("c", {})})

    def widget(self, ctx, kind):
        # /o/feedback/widget (rating widgets, no auth) and /o/surveys/<kind>/widget.
        wid = ctx.params.get("widget_id")
        if not js_truthy(wid):
            return result(400, 'Missing parameter "widget_id"')
        app_key = js_str(ctx.params["app_key"]) if "app_key" in ctx.params else None
        doc = self.fixtures.get(app_key, "widgets", {}).get(js_str(wid))
        if doc is None or doc.get("type", "rating") != kind:
            return result(404, "Widget not found.")
        return bare(doc)


def _matches(cond, dev, metrics):
    ids = cond.get("device_ids")
    if ids is not None and dev not in ids:
        return False
    want = cond.get("metrics") or {}
    return all(metrics.get(k) == v for k, v in want.items())
