# log.py - the SDK's levelled logger: "[Countly] [Module] function, message" lines.
#
# Two audiences. With logging=True every line is printed (and with a log_listener every line
# goes to it, as the guide asks). With logging=False (the default) the SDK is quiet except for
# what stops delivery or loses data: those lines go through notice(), which prints one line per
# cause per run, so a serial console is told once and never flooded.
#
# Where a line is printed is the port's choice (Platform.log_sink, e.g. the `logging` module on
# CPython); without one it is print(). Formatting happens only when someone will see the line.
# The app key, the salt and payloads are never passed in here.

from .compat import const

ERROR = const(1)
WARNING = const(2)
INFO = const(3)
DEBUG = const(4)
VERBOSE = const(5)

# Level names as the guide shows them, indexed by level.
_NAMES = ("", "Error", "Warning", "Info", "Debug", "Verbose")
_MAX_CAUSES = const(64)  # causes remembered for notice(); beyond it every notice prints
# Printed when a notice's own line cannot be built for want of memory: a constant, so saying
# it needs no allocation. Once; the notice itself is tried again the next time it comes.
_NO_MEMORY_LINE = "[Error] [Countly] out of memory: a notice could not be printed (status())"


class Logger:
    def __init__(self, console=False, listener=None, sink=None):
        self.console = console
        self.listener = listener
        self.sink = sink  # callable(level, line) from the port, or None for print()
        self.errors = 0  # counted even when silent: health checks report them
        self.warnings = 0
        self._seen = []  # causes already announced by notice()
        self._no_memory_said = False

    def _emit(self, level, line):
        if self.sink is not None:
            try:
                self.sink(level, line)
                return
            except MemoryError:
                raise
            except Exception:
                self.sink = None  # a broken sink falls back to print, never takes the app down
        print("[%s] %s" % (_NAMES[level], line))

    def log(self, level, module, function, message=None, args=(), loud=False):
        # Never raises: a log line that cannot be built (out of memory) is not worth failing
        # the call that wanted to say it. message % args is only built for someone to see.
        # -> False when a loud line could not be printed for want of memory.
        if level == ERROR:
            self.errors += 1
        elif level == WARNING:
            self.warnings += 1
        if not (self.console or loud) and self.listener is None:
            return
        try:
            if message is None:
                line = "[Countly] [%s] %s" % (module, function)
            else:
                if args:
                    message = message % args
                line = "[Countly] [%s] %s, %s" % (module, function, message)
            if self.console or loud:
                self._emit(level, line)
            if self.listener is not None:
                try:
                    self.listener(line, level)
                except Exception:  # a faulty listener must not take the SDK (or the app) down
                    self.listener = None
        except MemoryError:
            if loud:
                if not self._no_memory_said:
                    self._no_memory_said = True
                    try:
                        print(_NO_MEMORY_LINE)
                    except Exception:
                        self._no_memory_said = False
                return False
        except Exception:
            pass
        return True

    def notice(self, cause, level, module, function, message, *args):
        # For what stops delivery or loses data: printed even with logging off, once per cause.
        # A cause counts as said only once its line is out: one lost for want of memory is
        # printed the next time the cause comes.
        seen = self._seen
        loud = cause not in seen
        if self.log(level, module, function, message, args, loud) and loud \
                and len(seen) < _MAX_CAUSES:
            try:
                seen.append(cause)
            except MemoryError:
                pass

    def e(self, module, function, message=None, *args):
        self.log(ERROR, module, function, message, args)

    def w(self, module, function, message=None, *args):
        self.log(WARNING, module, function, message, args)

    def i(self, module, function, message=None, *args):
        self.log(INFO, module, function, message, args)

    def d(self, module, function, message=None, *args):
        self.log(DEBUG, module, function, message, args)

    def v(self, module, function, message=None, *args):
        self.log(VERBOSE, module, function, message, args)
