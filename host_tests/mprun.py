"""Run test modules under the real MicroPython interpreter.

    micropython -X heapsize=N host_tests/mprun.py test_state test_laws ...

Run from the repository root.  Calls every ``test_*`` function of each module,
prints one line per test and a closing ``N passed, N failed`` line; exits 1
if anything failed.
"""
import gc
import sys

sys.path[:0] = ["firmware", "host_tests"]

passed = failed = 0
for mod_name in sys.argv[1:]:
    mod = __import__(mod_name)
    for name in sorted(dir(mod)):
        if not name.startswith("test_"):
            continue
        gc.collect()
        try:
            getattr(mod, name)()
            passed += 1
            print("PASS %s.%s" % (mod_name, name))
        except Exception as e:  # report every failure, keep going
            failed += 1
            print("FAIL %s.%s" % (mod_name, name))
            sys.print_exception(e)
    del sys.modules[mod_name]
    gc.collect()
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
