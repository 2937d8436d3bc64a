# test_receiver_cli.py - the command line: --help, bad flags, what it prints at start, and
# browsing an existing database (also one written by an older receiver).
import json
import os
import re
import sqlite3
import subprocess
import sys
import urllib.request

from conftest import TOOLS

CLI = os.path.join(TOOLS, "receiver.py")
ROOT = os.path.dirname(TOOLS)


def run(*args, timeout=30):
    return subprocess.run([sys.executable, CLI] + list(args), capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout)


def start(*args):
    proc = subprocess.Popen([sys.executable, CLI, "--port", "0"] + list(args), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    while not lines or not lines[-1].startswith("control token:"):
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        lines.append(line.rstrip("\n"))
    return proc, lines


def stop(proc):
    proc.terminate()
    proc.wait(10)
    proc.stdout.close()
    proc.stderr.close()


def test_help_and_unknown_flags():
    out = run("--help")
    assert out.returncode == 0 and out.stdout.startswith("usage: receiver.py")
    for flag in ("--port", "--db", "--app", "--fixtures", "--lite", "--log-requests",
                 "--token", "--host", "--max-connections", "--verbose"):
        assert flag in out.stdout, flag
    bad = run("--bogus")
    assert bad.returncode == 2 and "unrecognized arguments: --bogus" in bad.stderr
    assert run("--app", ":salt").returncode == 2
    missing = run("--fixtures", "no-such-file.json")
    assert missing.returncode == 2 and "no such fixtures file" in missing.stderr


def test_start_prints_url_apps_token_and_logs_requests(tmp_path):
    proc, lines = start("--app", "APPKEY", "--app", "SALTY:s3:cr", "--token", "tok-123",
                        "--log-requests", "--lite",
                        "--fixtures", os.path.join(TOOLS, "receiver_fixtures.example.json"))
    try:
        url = re.match(r"countly receiver listening on (http://127\.0\.0\.1:\d+) ",
                       lines[0]).group(1)
        assert lines[1] == "apps served: APPKEY, SALTY (salted)"
        assert "(Lite mode)" in lines[2]
        assert lines[3].startswith("control token: tok-123 ")
        with urllib.request.urlopen(url + "/o/sdk?app_key=APPKEY&device_id=d&method=rc"
                                    "&keys=%5B%22feature_x%22%5D", timeout=5) as resp:
            assert resp.read() == b'{"feature_x":true}'
        req = urllib.request.Request(url + "/_receiver/reset", data=b"{}", headers={
            "Content-Type": "application/json", "X-Receiver-Token": "tok-123"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.status == 200
        logged = proc.stdout.readline()
        assert re.search(r" 127\.0\.0\.1 GET /o/sdk\?app_key=APPKEY&device_id=d&method=rc"
                         r".* -> 200 \{\"feature_x\":true\}$", logged), logged
    finally:
        stop(proc)


def test_browse_an_existing_database(tmp_path, clock):
    from countly_receiver import Receiver

    db = str(tmp_path / "receiver.sqlite")
    with Receiver(apps={"DEMO_APP_KEY": None}, db_path=db, clock=clock) as r:
        urllib.request.urlopen(r.url + "/i?app_key=DEMO_APP_KEY&device_id=board&events="
                               "%5B%7B%22key%22%3A%22reading%22%7D%5D", timeout=5).read()
    proc, lines = start("--db", db)
    try:
        assert lines[1] == "apps served: none (browse only: every app is refused)"
        assert lines[2] == "apps in the database but not served: DEMO_APP_KEY"
        url = re.search(r"(http://\S+) ", lines[0]).group(1)
        with urllib.request.urlopen(url + "/_receiver/events", timeout=5) as resp:
            assert [e["key"] for e in json.loads(resp.read())] == ["reading"]
        with urllib.request.urlopen(url + "/", timeout=5) as resp:
            assert b"<td>reading</td>" in resp.read()
    finally:
        stop(proc)


def test_database_of_an_older_receiver_is_upgraded(tmp_path, clock):
    # An older file lacks the newer tables and columns; opening it adds them, rows kept.
    db = str(tmp_path / "old.sqlite")
    con = sqlite3.connect(db)
    con.executescript(
        "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, request_id INTEGER,"
        " app_key TEXT, device_id TEXT, key TEXT, count INTEGER, sum REAL, dur REAL,"
        " segmentation TEXT, timestamp INTEGER, hour INTEGER, dow INTEGER, event_id TEXT,"
        " pvid TEXT, cvid TEXT, peid TEXT);"
        "CREATE TABLE devices (id INTEGER PRIMARY KEY AUTOINCREMENT, app_key TEXT,"
        " device_id TEXT, first_seen_ms INTEGER, UNIQUE(app_key, device_id));"
        "INSERT INTO events (app_key, device_id, key, count) VALUES ('A', 'old', 'kept', 1);")
    con.commit()
    con.close()
    from countly_receiver import Receiver

    with Receiver(apps={"A": None}, db_path=db, clock=clock) as r:
        urllib.request.urlopen(r.url + "/i?app_key=A&device_id=new&events="
                               "%5B%7B%22key%22%3A%22fresh%22%7D%5D", timeout=5).read()
        assert [(e["key"], e["aggregated"]) for e in r.rows("events")] == [
            ("kept", None), ("fresh", 1)]
        assert r.rows("devices")[0]["device_id"] == "new"
