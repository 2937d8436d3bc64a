# countly_receiver - a local Countly-compatible server for developing and testing countly_mp.
# Standard library only. In-process: `from countly_receiver import Receiver`; command line:
# `python tools/receiver.py --help`. docs/receiver.md describes all of it.

from .cli import main, parse_app as _parse_app
from .core import Receiver
from .faults import MODES as FAULT_MODES
from .server import Limits
from .store import TABLES

__all__ = ["FAULT_MODES", "Limits", "Receiver", "TABLES", "main", "_parse_app"]
