# boot.py - ESP32 boot: bring Wi-Fi up from secrets.json, then let main.py run.
# The wait is bounded (secrets "timeout_ms", default 10 s): a board out of range still boots
# and records into its flash queue; the SDK sends once the link comes up. Copy
# secrets.example.json to secrets.json on the board (tools/deploy.py --secrets) and keep the
# real one out of git.

try:
    import countly_wifi

    countly_wifi.connect_from_file("secrets.json")
    # the helper is not needed after boot: give its bytecode back to the heap
    del countly_wifi
    import sys

    sys.modules.pop("countly_wifi", None)
except ImportError:
    print("boot: countly_wifi not installed, staying offline")
