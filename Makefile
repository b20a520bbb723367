# The two commands of the README's Quick start, and what they need.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test ledger bundle setup clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]' -c constraints.txt
	touch $(STAMP)

setup: $(STAMP)

# make demo PSA=autotask (or halopsa) points the demo at another PSA's sandbox.
demo: $(STAMP)
	$(PY) main.py demo $(if $(PSA),--psa $(PSA))

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest $(PYTEST_ARGS)

# The billing promises over 10 times the examples make test runs (about ten minutes).
ledger: $(STAMP)
	SEATSYNC_LEDGER_SCALE=10 QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -o faulthandler_timeout=0 \
		--hypothesis-show-statistics tests/billing/test_ledger_properties.py tests/sync/test_ledger_machine.py

clean:
	rm -rf $(VENV) build dist *.egg-info

# The installable desktop app (PyInstaller, one folder), then its smoke test.
bundle: $(STAMP)
	$(VENV)/bin/pyinstaller installer.spec --noconfirm --log-level WARN
	dist/seatsync/seatsync --version
	QT_QPA_PLATFORM=offscreen dist/seatsync/seatsync self-check
