# manifest.py - freeze countly_mp into MicroPython firmware (bytecode runs from flash, which
# saves the RAM that .mpy files on the filesystem keep).
#
#   make -C ports/esp32 BOARD=ESP32_GENERIC FROZEN_MANIFEST=/abs/path/to/manifest.py
#
# The board's own manifest is included first so mip, ntptime, requests etc. stay frozen.
# Default optimisation (not opt=3): line numbers stay in crash stack traces.
# manifest_unix.py is the same for the unix port.

include("$(PORT_DIR)/boards/manifest.py")
metadata(description="Countly analytics client for MicroPython", version="26.1.0")
package("countly_mp", base_path="lib")
module("countly_http_wire.py", base_path="ports/common")
module("countly_http_response.py", base_path="ports/common")
module("countly_tls.py", base_path="ports/common")
module("countly_http.py", base_path="ports/common")
module("countly_aio_http.py", base_path="ports/common")
module("countly_port.py", base_path="ports/esp32")
module("countly_wifi.py", base_path="ports/esp32")
