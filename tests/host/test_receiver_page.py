# test_receiver_page.py - the page at /: local times, refused requests with their answers,
# crash stack traces, health checks, feedback, remote-config fetches, filters by app and device.
# One test renders it in a real headless browser when one is installed.
import json
import os
import re
import shutil
import subprocess
import urllib.parse

import pytest
from conftest import FAKE_NOW_MS

STACK = 'Traceback (most recent call last):\n  File "main.py", line 3\nZeroDivisionError: boom'


def q(obj):
    return urllib.parse.quote(json.dumps(obj, separators=(",", ":")), safe="")


def fill(client, receiver):
    client.get("/i?app_key=APPKEY&device_id=dev-a&begin_session=1&events="
               + q([{"key": "click", "count": 1}]))
    client.get("/i?app_key=NOPE&device_id=dev-b")
    client.get("/i?app_key=SALTED&device_id=dev-b")
    client.get("/i?app_key=APPKEY&device_id=dev-a&timestamp=1&crash="
               + q({"_error": STACK, "_app_version": "1.0", "_os": "MicroPython",
                    "_logs": "wifi up"}))
    client.get("/i?app_key=APPKEY&device_id=dev-c&hc=" + q({"el": 3, "wl": 4, "sc": 503,
                                                             "em": "hc-error-text"}))
    client.get("/i?app_key=APPKEY&device_id=dev-c&timestamp=2&events=" + q([{
        "key": "[CLY]_star_rating", "segmentation": {"widget_id": "w1", "rating": 4,
                                                     "comment": "great-board"}}]))
    client.get("/o/sdk?app_key=APPKEY&device_id=dev-c&method=rc&keys=" + q(["feature_x"]))
    receiver.inject("500", count=1)
    client.get("/i?app_key=APPKEY&device_id=dev-a&timestamp=3")


def section(body, title):
    # The HTML of one table section.
    m = re.search(r"<h2>%s \(\d+\)</h2><table>.*?</table>" % re.escape(title), body, re.S)
    assert m, title
    return m.group(0)


def test_page_content(client, receiver):
    fill(client, receiver)
    status, raw = client.get("/")
    body = raw.decode()
    assert status == 200 and client.last.getheader("Access-Control-Allow-Origin") is None
    assert "script-src 'nonce-" in client.last.getheader("Content-Security-Policy")
    rejected = section(body, "Rejected or failed requests")
    assert "App does not exist" in rejected and "Request does not have checksum" in rejected
    assert "Internal error (simulated)" in rejected and "<td>500</td>" in rejected
    assert "class='bad'" in rejected and "click" not in rejected
    # Times are epoch ms for the browser to localise, UTC text until it does.
    assert "<time data-ms='%d'>2023-11-14 22:13:20 UTC</time>" % FAKE_NOW_MS in body
    assert "toLocaleString()" in body
    crashes = section(body, "Crashes")
    assert "<details><summary>Traceback (most recent call last):</summary>" in crashes
    assert "ZeroDivisionError: boom" in crashes and "wifi up" in crashes
    health = section(body, "Health checks")
    assert "<td>503</td>" in health and "hc-error-text" in health
    assert "great-board" in section(body, "Feedback answers")
    fetches = section(body, "Remote config and other SDK fetches")
    assert "<td>rc</td>" in fetches and "feature_x" in fetches
    assert "http-equiv='refresh' content='5'" in body


def test_page_filters_by_device_and_app(client, receiver):
    fill(client, receiver)
    body = client.get("/?device=dev-c&refresh=0")[1].decode()
    assert "http-equiv='refresh'" not in body
    requests = section(body, "Requests (newest first)")
    assert "<td>dev-c</td>" in requests and "<td>dev-a</td>" not in requests
    assert "<option value='dev-c' selected>" in body
    assert "<option value='dev-b'>" in body  # refused devices can be picked too
    assert "ZeroDivisionError" not in body
    body = client.get("/?app=NOPE")[1].decode()
    requests = section(body, "Requests (newest first)")
    assert "App does not exist" in requests and "<td>APPKEY</td>" not in requests


def _browser():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None


def _dump_dom(url):
    # Asia/Tokyo (UTC+9, no DST): the local time cannot be mistaken for the UTC text.
    env = dict(os.environ, TZ="Asia/Tokyo", LANG="en_US.UTF-8")
    out = subprocess.run([_browser(), "--headless", "--no-sandbox", "--disable-gpu",
                          "--disable-background-networking", "--no-first-run", "--lang=en-US",
                          "--dump-dom", url], capture_output=True, text=True, env=env,
                         timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


@pytest.mark.skipif(_browser() is None,
                    reason="no headless browser installed (chromium or google-chrome)")
def test_page_in_a_headless_browser(client, receiver):
    fill(client, receiver)
    dom = _dump_dom(receiver.url + "/?refresh=0")
    # 1700000000000 ms is 2023-11-14 22:13:20 UTC, 07:13:20 the next morning in Tokyo.
    assert re.search(r"<time data-ms=\"%d\">11/15/2023, 7:13:20\sAM</time>" % FAKE_NOW_MS, dom)
    assert "UTC</time>" not in dom
    assert "App does not exist" in section(dom, "Rejected or failed requests")
    assert "ZeroDivisionError: boom" in dom and "<details>" in dom
    filtered = _dump_dom(receiver.url + "/?device=dev-c&refresh=0")
    requests = section(filtered, "Requests (newest first)")
    assert "<td>dev-c</td>" in requests and "<td>dev-a</td>" not in requests
