# manifest_unix.py - freeze countly_mp with the unix port (host/CI builds of the unix binary).
#
#   make -C ports/unix FROZEN_MANIFEST=/abs/path/to/manifest_unix.py

include("$(PORT_DIR)/variants/manifest.py")
metadata(description="Countly analytics client for MicroPython (unix port)", version="26.1.0")
package("countly_mp", base_path="lib")
module("countly_http_wire.py", base_path="ports/common")
module("countly_http_response.py", base_path="ports/common")
module("countly_tls.py", base_path="ports/common")
module("countly_http.py", base_path="ports/common")
module("countly_aio_http.py", base_path="ports/common")
module("countly_port.py", base_path="ports/unix")
module("countly_blockfile.py", base_path="ports/unix")
