# fixtures.py - the answers the receiver gives for /o/sdk methods and widget paths, loaded from
# a JSON file (see tools/receiver_fixtures.example.json) and changeable while it runs.
#
# Top-level keys apply to every app; "apps": {"APP_KEY": {...}} overrides any of them for one
# app. Keys:
#   remote_config             default values for method=rc / fetch_remote_config
#   remote_config_conditions  [{"name", "device_ids": [...], "metrics": {...}, "values": {...}}]
#                             per-device values; the first matching condition wins per key
#   ab_variants               {"param": [{"name": "Control group", "value": v}, ...]}
#   ab_experiments            the list method=ab_fetch_experiments answers
#   feedback_widgets          the list method=feedback answers as {"result": [...]}
#   widgets                   widget documents by widget_id (type nps, survey or rating)
#   server_config             {"v": 2, "c": {...}} for method=sc

import copy
import json
import threading

KEYS = ("remote_config", "remote_config_conditions", "ab_variants", "ab_experiments",
        "feedback_widgets", "widgets", "server_config")
_EXPECTED = {"remote_config": dict, "remote_config_conditions": list, "ab_variants": dict,
             "ab_experiments": list, "feedback_widgets": list, "widgets": dict,
             "server_config": dict}


def load(source):
    if source is None:
        return {}
    if isinstance(source, dict):
        return copy.deepcopy(source)
    with open(source, encoding="utf-8") as f:
        return json.load(f)


def check(data, where="fixtures"):
    # Refuses unknown keys and wrong types, so a typo in a test fails loudly instead of
    # silently serving the defaults.
    if not isinstance(data, dict):
        raise ValueError("%s must be a JSON object" % where)
    for k, v in data.items():
        if k.startswith("_"):
            continue
        if k == "apps" and where == "fixtures":
            if not isinstance(v, dict):
                raise ValueError("apps must be an object of app key -> fixtures")
            for app, over in v.items():
                check(over, "apps.%s" % app)
            continue
        if k not in _EXPECTED:
            raise ValueError("unknown fixture key %r in %s" % (k, where))
        if not isinstance(v, _EXPECTED[k]):
            raise ValueError("%s.%s must be a JSON %s" % (
                where, k, "object" if _EXPECTED[k] is dict else "array"))


class Fixtures:
    def __init__(self, source=None):
        data = load(source)
        check(data)
        self._data = data
        self._lock = threading.Lock()

    @property
    def data(self):
        return self._data

    def get(self, app_key, name, default):
        with self._lock:
            per_app = self._data.get("apps", {}).get(app_key, {})
            value = per_app[name] if name in per_app else self._data.get(name, default)
            return copy.deepcopy(value)

    def update(self, changes, app_key=None):
        # Each given key replaces the current value (for every app, or for app_key only).
        check(changes, "fixtures" if app_key is None else "apps.%s" % app_key)
        changes = copy.deepcopy(changes)
        with self._lock:
            if app_key is None:
                self._data.update(changes)
            else:
                self._data.setdefault("apps", {}).setdefault(app_key, {}).update(changes)
