# receiver.py - runs the local Countly-compatible receiver from the repository root:
#   python tools/receiver.py --port 8080 --db receiver.sqlite --app APP_KEY[:SALT]
# `--help` lists every flag; docs/receiver.md describes the receiver.

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from countly_receiver import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
