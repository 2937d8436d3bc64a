# countly_mp - set-up, tests, demo and builds. Every target creates .venv from the pinned
# requirements when it is missing, so a fresh machine needs only Python, make and git.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum requirements-dev.txt | cut -d' ' -f1)

.PHONY: setup test test-host test-mp demo receiver mpy bench lint clean

# The stamp's name carries the checksum of requirements-dev.txt: a change of its content makes
# a new stamp (a new .venv), a newer timestamp alone (a fresh checkout) does not.
$(STAMP): | requirements-dev.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $(STAMP)

setup: $(STAMP)

# The whole suite: lint, pytest on CPython, then the portable tests on the real MicroPython
# binary under a 128 KiB heap (tests/heap_over_budget.txt names those that need more). Fails
# if any fails.
test: $(STAMP)
	$(BIN)/ruff check lib ports tools tests examples
	$(BIN)/python tools/run_tests.py

test-host: $(STAMP)
	$(BIN)/python tools/run_tests.py --host-only

test-mp: $(STAMP)
	$(BIN)/python tools/run_tests.py --mp-only

demo: $(STAMP)
	$(BIN)/python tools/demo.py

# The receiver on what the demo stored (.demo/receiver.sqlite, created when missing), still
# accepting main.py's app key: browse http://127.0.0.1:8080/ after `make demo`, or point
# main.py at it. Ctrl-C stops it. RECEIVER_PORT=8081 make receiver picks another port.
RECEIVER_PORT ?= 8080
receiver: $(STAMP)
	mkdir -p .demo
	$(BIN)/python tools/receiver.py --db .demo/receiver.sqlite --port $(RECEIVER_PORT) --app DEMO_APP_KEY

mpy: $(STAMP)
	$(BIN)/python tools/build_mpy.py

bench: $(STAMP)
	$(BIN)/python tools/bench.py

lint: $(STAMP)
	$(BIN)/ruff check lib ports tools tests examples

clean:
	rm -rf build .pytest_cache .demo
