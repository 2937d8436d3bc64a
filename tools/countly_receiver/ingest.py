# ingest.py - what a /i request stores once it passed validation: device, sessions, events and
# their aggregates, crashes, health checks, feedback answers, profile, consent, location, APM,
# attribution, push token and device merges.
#
# Anything the server would drop quietly is dropped here too, with a note on the request row
# (requests.notes) so a developer can see why. In Lite mode (a Community Edition server) the
# Enterprise-only data - user_details, apm, attribution, [CLY]_nps and [CLY]_survey - is
# answered with Success and not stored, as such a server does.

import json

from . import rules
from .jsvalues import (init_time_ms, js_parse_float, js_parse_int, js_str, js_truthy, json_text,
                       parse_json_param)
from .store import MERGE_TABLES

_LOCATION_PARAMS = ("country_code", "city", "location", "ip_address")
_ATTRIBUTION_PARAMS = ("campaign_id", "campaign_user", "attribution_data", "aid")


class Ingest:
    def __init__(self, store, lite=False):
        self.store = store
        self.lite = lite

    def process(self, ctx, key, dev, now, req_hash):
        p, st = ctx.params, self.store
        ts = init_time_ms(p.get("timestamp"), now)
        st.touch_device(key, dev, now)
        cols = {"last_req": req_hash}
        for name in ("sdk_name", "sdk_version", "av", "rr"):
            if name in p:
                cols[name] = js_str(p[name])
        if "tz" in p and js_parse_int(p["tz"]) is not None:
            cols["tz"] = js_parse_int(p["tz"])
        st.set_device(key, dev, **cols)
        self.metrics(key, dev, p)
        self.location(ctx, key, dev, ts, begin=js_truthy(p.get("begin_session")))
        self._health_check(ctx, key, dev, ts)
        self._sessions(ctx, key, dev, ts)
        self._events(ctx, key, dev, ts, now)
        self._crash(ctx, key, dev, ts)
        enterprise = [n for n in ("user_details", "apm") if n in p]
        enterprise += [n for n in _ATTRIBUTION_PARAMS if n in p]
        if self.lite and enterprise:
            ctx.note("not stored (Enterprise data on a Lite server): %s" % ", ".join(enterprise))
        elif not self.lite:
            self._user_details(key, dev, p)
            self._apm(ctx, key, dev, ts)
            self._attribution(ctx, key, dev, ts)
        self._consent(ctx, key, dev, ts)
        if js_truthy(p.get("token_session")):
            push = {k: js_str(p[k]) for k in ("android_token", "ios_token", "token_provider",
                                              "test_mode", "locale") if k in p}
            st.set_device(key, dev, push=json_text(push))

    def metrics(self, key, dev, p):
        if "metrics" not in p:
            return
        m = parse_json_param(p["metrics"])
        if not isinstance(m, dict):
            return
        cur = self.store.device_json(key, dev, "metrics")
        cur.update(m)
        self.store.set_device(key, dev, metrics=json_text(cur))

    def location(self, ctx, key, dev, ts, begin):
        p = ctx.params
        if not any(k in p for k in _LOCATION_PARAMS):
            return
        loc, opt_out = {}, 0
        if "location" in p and js_str(p["location"]) == "" and begin:
            # An empty location on begin_session means the user opted out.
            opt_out = 1
            loc.update(country_code="Unknown", city="Unknown", lat=None, lon=None)
        elif js_truthy(p.get("location")):
            parts = js_str(p["location"]).split(",")
            if len(parts) == 2:
                lat, lon = js_parse_float(parts[0]), js_parse_float(parts[1])
                if lat is not None and lon is not None:
                    loc.update(lat=lat, lon=lon)
        if not opt_out:
            for k in ("country_code", "city"):
                if js_truthy(p.get(k)):
                    loc[k] = js_str(p[k])
        if js_truthy(p.get("ip_address")):
            loc["ip_address"] = js_str(p["ip_address"])
        loc["location_opt_out"] = opt_out
        self.store.set_device(key, dev, **loc)
        self.store.insert("location", request_id=ctx.request_id, app_key=key, device_id=dev,
                          country_code=loc.get("country_code"), city=loc.get("city"),
                          lat=loc.get("lat"), lon=loc.get("lon"),
                          ip_address=loc.get("ip_address"), opt_out=opt_out, timestamp=ts)

    def _health_check(self, ctx, key, dev, ts):
        p = ctx.params
        if "hc" not in p:
            return
        hc = parse_json_param(p["hc"])
        self.store.set_device(key, dev, hc=json_text(hc if hc is not None else js_str(p["hc"])))
        h = hc if isinstance(hc, dict) else {}
        if not h:
            ctx.note("hc is not a JSON object")
        m = parse_json_param(p.get("metrics"))
        self.store.insert(
            "health_checks", request_id=ctx.request_id, app_key=key, device_id=dev,
            el=js_parse_int(h.get("el")), wl=js_parse_int(h.get("wl")),
            sc=js_parse_int(h.get("sc")), em=None if h.get("em") is None else js_str(h["em"]),
            bom=js_parse_int(h.get("bom")), cbom=js_parse_int(h.get("cbom")),
            hc=json_text(hc if hc is not None else js_str(p["hc"])),
            metrics=json_text(m) if isinstance(m, dict) else None, timestamp=ts)

    def _sessions(self, ctx, key, dev, ts):
        p, q = ctx.params, self.store.execute
        row = self.store.device(key, dev)
        ignore_cd = js_truthy(p.get("ignore_cooldown"))
        if js_truthy(p.get("begin_session")):
            open_s = q("SELECT id FROM sessions WHERE app_key=? AND device_id=? AND open=1",
                       (key, dev)).fetchall()
            last = q("SELECT id FROM sessions WHERE app_key=? AND device_id=? ORDER BY id DESC"
                     " LIMIT 1", (key, dev)).fetchone()
            if open_s:
                # An unended previous session is closed implicitly.
                q("UPDATE sessions SET open=0, end_ms=?, end_reason='implicit' WHERE app_key=?"
                  " AND device_id=? AND open=1", (ts, key, dev))
            if (not open_s and last is not None and not ignore_cd
                    and not row["last_end_final"] and row["last_end_ms"] is not None
                    and ts - row["last_end_ms"] < rules.SESSION_COOLDOWN_MS):
                # Within the cooldown after an end: the old session is extended.
                q("UPDATE sessions SET open=1, end_ms=NULL, end_reason=NULL,"
                  " extended=extended+1 WHERE id=?", (last["id"],))
            else:
                self.store.insert("sessions", request_id=ctx.request_id, app_key=key,
                                  device_id=dev, begin_ms=ts, open=1)
                self.store.set_device(key, dev, session_count=row["session_count"] + 1)
        if "session_duration" in p:
            d = js_parse_int(p["session_duration"])
            if d:
                d = 30 if d < 0 else min(d, rules.SESSION_DURATION_LIMIT)
                last = q("SELECT id FROM sessions WHERE app_key=? AND device_id=?"
                         " ORDER BY open DESC, id DESC LIMIT 1", (key, dev)).fetchone()
                if last is not None:
                    q("UPDATE sessions SET duration_s=duration_s+? WHERE id=?", (d, last["id"]))
                q("UPDATE devices SET total_duration_s=total_duration_s+? WHERE app_key=? AND"
                  " device_id=?", (d, key, dev))
        if js_truthy(p.get("end_session")):
            cur = q("UPDATE sessions SET open=0, end_ms=?, end_reason='end_session' WHERE"
                    " app_key=? AND device_id=? AND open=1", (ts, key, dev))
            if cur.rowcount:
                self.store.set_device(key, dev, last_end_ms=ts,
                                      last_end_final=1 if ignore_cd else 0)

    def _events(self, ctx, key, dev, ts, now):
        p = ctx.params
        if "events" not in p:
            return
        evs = parse_json_param(p["events"])
        if not isinstance(evs, list):
            ctx.note("events is not a JSON array: ignored")
            return
        internal = rules.INTERNAL_EVENTS_LITE if self.lite else rules.INTERNAL_EVENTS
        for e in evs:
            if not isinstance(e, dict) or not js_truthy(e.get("key")):
                ctx.note("event without a key dropped")
                continue
            k = e["key"] if isinstance(e["key"], str) else json_text(e["key"])
            if k == "[CLY]_orientation":
                seg = e.get("segmentation")
                if isinstance(seg, dict) and "mode" in seg:
                    self.store.set_device(key, dev, ornt=js_str(seg["mode"]))
                continue
            if k.startswith("[CLY]_") and k not in internal:
                ctx.note("internal event %s dropped (not registered on this server)" % k)
                continue
            short = rules.fix_event_key(k)
            if short is None:
                ctx.note("event key of %d+ characters dropped" % rules.EVENT_KEY_MAX)
                continue
            self._event(ctx, key, dev, e, k, short, ts, now)

    def _event(self, ctx, key, dev, e, k, short, ts, now):
        p = ctx.params
        count, total, dur = rules.event_numbers(e)
        seg, warnings = e.get("segmentation"), []
        if isinstance(seg, dict):
            seg, warnings = rules.rewrite_segmentation(seg)
        ets = init_time_ms(e["timestamp"], now) if "timestamp" in e else ts
        hour = js_parse_int(e.get("hour", p.get("hour")))
        dow = js_parse_int(e.get("dow", p.get("dow")))
        aggregated = self._aggregate(key, short, count, total, dur,
                                     seg if isinstance(seg, dict) else {}, warnings)
        self.store.insert(
            "events", request_id=ctx.request_id, app_key=key, device_id=dev, key=k,
            count=count, sum=total, dur=dur,
            segmentation=json_text(seg) if isinstance(seg, dict) else None, timestamp=ets,
            hour=0 if hour == 24 else hour, dow=dow,
            event_id=_opt(e, "id"), pvid=_opt(e, "pvid"), cvid=_opt(e, "cvid"),
            peid=_opt(e, "peid"),
            aggregated=int(aggregated), warnings=json_text(warnings) if warnings else None)
        if k in rules.FEEDBACK_EVENTS and isinstance(seg, dict):
            self._feedback(ctx, key, dev, rules.FEEDBACK_EVENTS[k], seg, ets)

    def _aggregate(self, key, short, count, total, dur, seg, warnings):
        # Aggregated data as the dashboard shows it; False when the app's event limit drops it.
        q = self.store.execute
        known = q("SELECT 1 FROM aggregates WHERE app_key=? AND key=? LIMIT 1",
                  (key, short)).fetchone()
        if known is None:
            n = q("SELECT COUNT(DISTINCT key) FROM aggregates WHERE app_key=?",
                  (key,)).fetchone()[0]
            if n >= rules.EVENT_LIMIT:
                warnings.append("not aggregated: the app already has %d event keys"
                                % rules.EVENT_LIMIT)
                return False
        cells = [("", "")]
        seen = {r[0] for r in q("SELECT DISTINCT segment FROM aggregates WHERE app_key=? AND"
                                " key=? AND segment != ''", (key, short))}
        for seg_key, v in seg.items():
            value = rules.aggregate_value(v)
            if seg_key == "" or value is None:
                continue
            if seg_key not in seen and len(seen) >= rules.SEGMENT_KEY_LIMIT:
                warnings.append("segment %r not aggregated: %d segment keys already"
                                % (seg_key, rules.SEGMENT_KEY_LIMIT))
                continue
            seen.add(seg_key)
            values = q("SELECT COUNT(*), SUM(value = ?) FROM aggregates WHERE app_key=? AND"
                       " key=? AND segment=?", (value, key, short, seg_key)).fetchone()
            if not values[1] and values[0] >= rules.SEGMENT_VALUE_LIMIT:
                warnings.append("segment %r value not aggregated: %d values already"
                                % (seg_key, rules.SEGMENT_VALUE_LIMIT))
                continue
            cells.append((seg_key, value))
        for seg_key, value in cells:
            q("INSERT OR IGNORE INTO aggregates (app_key, key, segment, value, count, sum, dur)"
              " VALUES (?,?,?,?,0,0,0)", (key, short, seg_key, value))
            q("UPDATE aggregates SET count=count+?, sum=sum+?, dur=dur+? WHERE app_key=? AND"
              " key=? AND segment=? AND value=?",
              (count, total or 0, dur or 0, key, short, seg_key, value))
        return True

    def _feedback(self, ctx, key, dev, kind, seg, ts):
        known = ("widget_id", "rating", "comment", "email", "contactMe", "closed", "platform",
                 "app_version")
        answers = {k: v for k, v in seg.items() if k not in known}
        self.store.insert(
            "feedback", request_id=ctx.request_id, app_key=key, device_id=dev, type=kind,
            widget_id=_opt(seg, "widget_id"),
            rating=js_parse_int(seg.get("rating")),
            comment=_opt(seg, "comment"), email=_opt(seg, "email"),
            contact_me=_opt(seg, "contactMe"),
            closed=1 if js_str(seg.get("closed", "")) in ("1", "true") else 0,
            platform=_opt(seg, "platform"), app_version=_opt(seg, "app_version"),
            answers=json_text(answers) if answers else None, timestamp=ts)

    def _crash(self, ctx, key, dev, ts):
        p = ctx.params
        if "crash" not in p:
            return
        c = parse_json_param(p["crash"])
        if not isinstance(c, dict):
            ctx.note("crash is not a JSON object: ignored")
            return
        missing = rules.crash_missing(c)
        if missing:
            ctx.note("crash ignored, required field(s) missing: %s" % ", ".join(missing))
            return
        err = js_str(c["_error"])
        name = js_str(c["_name"]) if js_truthy(c.get("_name")) else err.split("\n")[0]
        custom = c.get("_custom") if isinstance(c.get("_custom"), dict) else None
        warnings = rules.crash_warnings(c)
        self.store.insert(
            "crashes", request_id=ctx.request_id, app_key=key, device_id=dev, error=err,
            name=name, nonfatal=int(c.get("_nonfatal") in (True, "true")),
            app_version=js_str(c["_app_version"]),
            os=_opt(c, "_os"), os_version=_opt(c, "_os_version"), logs=_opt(c, "_logs"),
            run=js_parse_float(c.get("_run")),
            custom=None if custom is None else json_text(custom), crash=json_text(c),
            timestamp=ts, crash_warnings=json_text(warnings) if warnings else None)

    def _user_details(self, key, dev, p):
        ud = parse_json_param(p.get("user_details")) if "user_details" in p else None
        if not isinstance(ud, dict):
            return
        profile = self.store.device_json(key, dev, "profile")
        self.store.set_device(key, dev, profile=json_text(rules.apply_user_details(profile, ud)))

    def _consent(self, ctx, key, dev, ts):
        p = ctx.params
        c = parse_json_param(p.get("consent")) if "consent" in p else None
        if not isinstance(c, dict):
            return
        cur = self.store.device_json(key, dev, "consent")
        changes = {k: v for k, v in c.items() if cur.get(k) != v}
        cur.update(c)
        self.store.set_device(key, dev, consent=json_text(cur))
        if changes:
            self.store.insert("consent", request_id=ctx.request_id, app_key=key, device_id=dev,
                              changes=json_text(changes), consent=json_text(cur), timestamp=ts)

    def _apm(self, ctx, key, dev, ts):
        p = ctx.params
        if "apm" not in p:
            return
        raw = p["apm"] if isinstance(p["apm"], str) else json_text(p["apm"])
        a = parse_json_param(p["apm"])
        a = a if isinstance(a, dict) else {}
        metrics = a.get("apm_metrics")
        self.store.insert(
            "apm", request_id=ctx.request_id, app_key=key, device_id=dev, type=a.get("type"),
            name=a.get("name"), apm_metrics=json_text(metrics) if metrics is not None else None,
            stz=js_parse_int(a.get("stz")), etz=js_parse_int(a.get("etz")), data=raw,
            timestamp=ts)

    def _attribution(self, ctx, key, dev, ts):
        p = ctx.params
        if not any(n in p for n in _ATTRIBUTION_PARAMS):
            return
        vals = {n: (p[n] if isinstance(p[n], str) else json_text(p[n]))
                for n in _ATTRIBUTION_PARAMS if n in p}
        cur = self.store.device_json(key, dev, "attribution")
        cur.update(vals)
        self.store.set_device(key, dev, attribution=json_text(cur))
        self.store.insert("attribution", request_id=ctx.request_id, app_key=key,
                          device_id=dev, timestamp=ts, **vals)

    def merge(self, ctx, key, old, new, now):
        # appUsers.merge: the old user's data is moved to the new device id.
        st, q = self.store, self.store.execute
        old_row, new_row = st.device(key, old), st.device(key, new)
        moved = {}
        if old_row is not None:
            for t in MERGE_TABLES:
                moved[t] = q("UPDATE %s SET device_id=? WHERE app_key=? AND device_id=?" % t,
                             (new, key, old)).rowcount
            if new_row is None:
                q("UPDATE devices SET device_id=? WHERE app_key=? AND device_id=?",
                  (new, key, old))
            else:
                self._merge_rows(key, old_row, new_row)
                q("DELETE FROM devices WHERE app_key=? AND device_id=?", (key, old))
        st.insert("merges", request_id=ctx.request_id, app_key=key, old_device_id=old,
                  new_device_id=new, old_found=int(old_row is not None), moved=json_text(moved),
                  timestamp=now)
        return old_row is not None

    def _merge_rows(self, key, o, n):
        cols = {}
        for c in ("metrics", "profile", "consent", "attribution", "hc", "push"):
            if o[c] or n[c]:
                cols[c] = json_text(rules.merge_json(_object(o[c]), _object(n[c])))
        for c in ("sdk_name", "sdk_version", "av", "tz", "rr", "ornt", "country_code", "city",
                  "lat", "lon", "ip_address", "last_end_ms"):
            if n[c] is None and o[c] is not None:
                cols[c] = o[c]
        cols["first_seen_ms"] = min(x for x in (o["first_seen_ms"], n["first_seen_ms"])
                                    if x is not None)
        cols["session_count"] = o["session_count"] + n["session_count"]
        cols["total_duration_s"] = o["total_duration_s"] + n["total_duration_s"]
        self.store.set_device(key, n["device_id"], **cols)


def _object(text):
    # A JSON column as a dict; anything else (a bad hc string, NULL) merges as empty.
    try:
        v = json.loads(text) if text else {}
    except ValueError:
        return {}
    return v if isinstance(v, dict) else {}


def _opt(obj, name):
    # String(obj[name]) when the field was sent, else NULL.
    return js_str(obj[name]) if name in obj else None
