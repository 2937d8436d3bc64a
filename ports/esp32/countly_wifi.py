# countly_wifi.py - bring the ESP32 Wi-Fi station up from a secrets file, with a bounded wait.
#
# secrets.json (never commit it; see secrets.example.json):
#   {"ssid": "my-network", "password": "...", "timeout_ms": 10000}
# timeout_ms is optional (default 10 s). After it the board continues offline: the driver keeps
# trying to associate in the background, the SDK queues to flash meanwhile and starts sending
# once WLAN.isconnected() turns True. A wrong password or a missing AP ends the wait early.

import time

_DEFAULT_TIMEOUT_MS = 10000
# Raw ESP-IDF reasons that will not fix themselves by waiting
_GIVE_UP = (201, 202, 203, 204)   # NO_AP_FOUND, AUTH_FAIL, ASSOC_FAIL, HANDSHAKE_TIMEOUT


def load_secrets(path="secrets.json"):
    # -> dict or None when the file is missing or unreadable
    try:
        import json

        with open(path) as f:
            s = json.load(f)
        return s if isinstance(s, dict) and s.get("ssid") else None
    except (OSError, ValueError):
        return None


def connect(ssid, password=None, timeout_ms=_DEFAULT_TIMEOUT_MS, wlan=None):
    # -> True when connected within timeout_ms, else False (the attempt goes on in the
    # background). Never raises: a board without Wi-Fi still boots into main.py.
    try:
        if wlan is None:
            import network

            wlan = network.WLAN(network.STA_IF)
        wlan.active(True)
        if wlan.isconnected():
            return True
        wlan.connect(ssid, password)
        start = time.ticks_ms()
        while time.ticks_diff(time.ticks_ms(), start) < timeout_ms:
            if wlan.isconnected():
                return True
            try:
                if wlan.status() in _GIVE_UP:
                    return False
            except Exception:
                pass
            time.sleep_ms(100)
        return wlan.isconnected()
    except Exception as e:
        print("wifi: %s" % e)
        return False


def connect_from_file(path="secrets.json"):
    s = load_secrets(path)
    if s is None:
        print("wifi: no %s, staying offline" % path)
        return False
    ok = connect(s["ssid"], s.get("password"), int(s.get("timeout_ms", _DEFAULT_TIMEOUT_MS)))
    print("wifi: %s" % ("connected" if ok else "not connected yet, continuing offline"))
    return ok
