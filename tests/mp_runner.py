# mp_runner.py - runs portable test modules on MicroPython, where pytest does not exist.
# Every test_* function of each named module (or only the one named as module:function) is
# called; a failure prints its traceback. The last line is "N passed, N failed"; the exit
# status is 1 when anything failed.
#
#   [COUNTLY_MPY=build/mpy] micropython -X heapsize=128k tests/mp_runner.py ROOT test_mod[:fn] ...

import gc
import sys


def main(argv):
    root = argv[1] if len(argv) > 1 else "."
    for sub in ("tests", "tests/portable", "tests/support", "ports/unix", "ports/common", "lib"):
        sys.path.insert(0, root + "/" + sub)
    import os

    mpy = os.getenv("COUNTLY_MPY")
    if mpy:
        # Import the core as a board does, from .mpy bytecode: compiling every module from
        # source inside a 128 KiB heap measures the compiler, not the SDK.
        sys.path.insert(0, mpy + "/ports/unix")
        sys.path.insert(0, mpy)
    tests = os.getenv("COUNTLY_MPY_TESTS")
    if tests:
        sys.path.insert(0, tests)  # the test modules themselves, precompiled
    passed = failed = 0
    for arg in argv[2:]:
        name, _, only = arg.partition(":")
        mod = __import__(name)
        for attr in sorted(dir(mod)):
            if not attr.startswith("test_") or (only and attr != only):
                continue
            fn = getattr(mod, attr)
            if not callable(fn):
                continue
            gc.collect()
            try:
                fn()
                passed += 1
                print("ok   %s.%s" % (name, attr))
            except Exception as e:
                failed += 1
                print("FAIL %s.%s" % (name, attr))
                sys.print_exception(e)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


sys.exit(main(sys.argv))
