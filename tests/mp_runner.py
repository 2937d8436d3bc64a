# mp_runner.py - runs portable test modules on MicroPython, where pytest does not exist.
# Every test_* function of each named module is called; a failure prints its traceback. The
# last line is "N passed, N failed"; the exit status is 1 when anything failed.
#
#   micropython -X heapsize=128k tests/mp_runner.py REPO_ROOT test_module [test_module ...]

import gc
import sys


def main(argv):
    root = argv[1] if len(argv) > 1 else "."
    for sub in ("lib", "ports/unix", "tests", "tests/portable", "tests/support"):
        sys.path.insert(0, root + "/" + sub)
    passed = failed = 0
    for name in argv[2:]:
        mod = __import__(name)
        for attr in sorted(dir(mod)):
            if not attr.startswith("test_"):
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
