# log.py - the SDK's levelled logger: "[Countly] [Module] function, message" lines.
# Formatting happens only when someone listens (console on, or a listener set), so a silent SDK
# pays no string building. The app key, the salt and payloads are never passed in here.

from .compat import const

ERROR = const(1)
WARNING = const(2)
INFO = const(3)
DEBUG = const(4)
VERBOSE = const(5)

# one string, not a tuple of one-letter strings: indexed by level
_NAMES = " EWIDV"


class Logger:
    def __init__(self, console=False, listener=None):
        self.console = console
        self.listener = listener
        self.errors = 0  # counted even when silent: they feed health figures
        self.warnings = 0

    def log(self, level, module, function, message=None):
        if level == ERROR:
            self.errors += 1
        elif level == WARNING:
            self.warnings += 1
        if not self.console and self.listener is None:
            return
        if message is None:
            line = "[Countly] [%s] %s" % (module, function)
        else:
            line = "[Countly] [%s] %s, %s" % (module, function, message)
        if self.console:
            print("%s %s" % (_NAMES[level], line))
        if self.listener is not None:
            try:
                self.listener(line, level)
            except Exception:  # a faulty listener must not take the SDK (or the app) down
                self.listener = None

    def e(self, module, function, message=None):
        self.log(ERROR, module, function, message)

    def w(self, module, function, message=None):
        self.log(WARNING, module, function, message)

    def i(self, module, function, message=None):
        self.log(INFO, module, function, message)

    def d(self, module, function, message=None):
        self.log(DEBUG, module, function, message)

    def v(self, module, function, message=None):
        self.log(VERBOSE, module, function, message)
