# cli.py - the receiver's command line (run as `python tools/receiver.py ...`).

import argparse
import os
import signal
import sys
import time


def parse_app(spec):
    # "KEY" or "KEY:SALT" (the salt may itself contain ':').
    key, _, salt = spec.partition(":")
    if not key:
        raise argparse.ArgumentTypeError("an app key is required: APP_KEY[:SALT]")
    return key, (salt or None)


def build_parser():
    ap = argparse.ArgumentParser(
        prog="receiver.py", description="Local Countly-compatible receiver: stores what SDKs "
        "send in SQLite, answers as a Countly server does, shows it all on a web page.")
    ap.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (default 127.0.0.1; use 0.0.0.0 for boards on "
                    "your LAN, on a trusted network only)")
    ap.add_argument("--port", type=int, default=8080, help="port (default 8080, 0 = any free)")
    ap.add_argument("--db", default=":memory:",
                    help="SQLite file, created or opened (existing data is kept and can be "
                    "browsed); default: in memory")
    ap.add_argument("--app", action="append", default=[], type=parse_app,
                    metavar="APP_KEY[:SALT]", help="an app to accept (repeatable); with a "
                    "salt, requests must carry a valid checksum256")
    ap.add_argument("--fixtures", metavar="FILE",
                    help="JSON answers for remote config, A/B tests, feedback widgets and "
                    "server config (see tools/receiver_fixtures.example.json)")
    ap.add_argument("--lite", action="store_true",
                    help="answer as a Community Edition server: Enterprise-only data "
                    "(user_details, apm, attribution, surveys/NPS) is answered but not stored")
    ap.add_argument("--token", help="control token (default: a random one, printed at start)")
    ap.add_argument("--log-requests", action="store_true",
                    help="print one line per request to stdout")
    ap.add_argument("--max-connections", type=int, default=64,
                    help="concurrent connections; more get 503 (default 64)")
    ap.add_argument("--verbose", action="store_true",
                    help="print connection errors and timeouts to stderr")
    return ap


def main(argv=None):
    from .core import Receiver

    args = build_parser().parse_args(argv)
    apps = dict(args.app)
    if args.fixtures and not os.path.exists(args.fixtures):
        print("receiver: no such fixtures file: %s" % args.fixtures, file=sys.stderr)
        return 2
    try:
        r = Receiver(apps=apps, db_path=args.db, fixtures=args.fixtures, verbose=args.verbose,
                     lite=args.lite, token=args.token, log_requests=args.log_requests,
                     limits={"max_connections": args.max_connections})
    except ValueError as e:
        print("receiver: %s" % e, file=sys.stderr)
        return 2
    try:
        r.start(args.host, args.port)
    except OSError as e:
        print("receiver: cannot listen on %s:%d: %s" % (args.host, args.port, e),
              file=sys.stderr)
        return 1
    # `kill` (SIGTERM, e.g. from make) shuts down as cleanly as Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    shown = ", ".join("%s%s" % (k, " (salted)" if s else "") for k, s in apps.items())
    seen = [k for k in r.store.distinct("devices", "app_key") if k not in apps]
    print("countly receiver listening on %s  (page: %s/)" % (r.url, r.url))
    print("apps served: %s" % (shown or "none (browse only: every app is refused)"))
    if seen:
        print("apps in the database but not served: %s" % ", ".join(seen))
    print("database: %s%s" % (args.db, "  (Lite mode)" if args.lite else ""))
    print("control token: %s  (X-Receiver-Token header or token= query parameter)" % r.token,
          flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        r.stop()
    return 0
