# The two commands of the README's Quick start, and what they need.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test check ledger fuzz bench bundle setup clean

# A virtual environment left without pip (python3-venv missing when it was made) is made again.
$(STAMP): pyproject.toml constraints.txt
	@$(PY) -m pip --version >/dev/null 2>&1 || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); } || { \
		rm -rf $(VENV); echo "Cannot make a virtual environment with $(PYTHON). On Debian and Ubuntu:" >&2; \
		echo "    sudo apt-get install python3-venv" >&2; exit 1; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]' -c constraints.txt
	touch $(STAMP)

setup: $(STAMP)

# make demo PSA=autotask (or halopsa) points the demo at another PSA's sandbox; DEMO_ARGS adds options
# (make demo DEMO_ARGS=--quit-after-sync: sync from the window, then quit).
demo: $(STAMP)
	$(PY) main.py demo $(if $(PSA),--psa $(PSA)) $(DEMO_ARGS)

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest $(PYTEST_ARGS)

# Lint (ruff) and types (mypy), with no finding allowed.
check: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy app

# The billing promises over 10 times the examples make test runs (about ten minutes).
ledger: $(STAMP)
	SEATSYNC_LEDGER_SCALE=10 QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -o faulthandler_timeout=0 \
		--hypothesis-show-statistics tests/billing/test_ledger_properties.py tests/sync/test_ledger_machine.py

# Every vendor answer seatsync decodes, generated from the vendors' schemas at 10 times the examples make
# test runs (a quarter of an hour); python -m tests.<vendor>.fuzz_counts [N] prints the counts per answer shape.
fuzz: $(STAMP)
	SEATSYNC_FUZZ_SCALE=10 QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -o faulthandler_timeout=0 \
		tests/connectwise/test_fuzz.py tests/autotask/test_fuzz.py tests/halopsa/test_fuzz.py tests/microsoft/test_fuzz.py

# Every benchmark at one size, in one table (benchmarks/README.md): the planner at 10,000 tenants x 20 licenses,
# the sync of 250 tenants against ConnectWise's sandbox at 100 ms a request (seatsync alone in its own process
# too, and a naive runbook beside it), the database after a year, the Companies list of 5,000 companies and
# Sync now; about a quarter of an hour on two cores. BENCH_ARGS adds options
# (make bench BENCH_ARGS="--sync-tenants 1000 --out bench-results"). A benchmark asserts nothing.
bench: $(STAMP)
	$(PY) benchmarks/bench_table.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info

# The installable desktop app (PyInstaller, one folder), then its smoke test (on a build machine,
# which keeps no credentials: the keyring's backends are checked, not used).
bundle: $(STAMP)
	$(VENV)/bin/pyinstaller installer.spec --noconfirm --log-level WARN
	dist/seatsync/seatsync --version
	QT_QPA_PLATFORM=offscreen dist/seatsync/seatsync self-check --no-keyring
