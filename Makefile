# Two commands are all the set-up anyone needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test install system-deps lint bench load lock clean

run: install
	$(BIN)/checkout serve

test: install system-deps lint
	$(BIN)/pytest

install: $(STAMP)

$(STAMP): pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-dev.lock
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

system-deps:
	./scripts/install-system-deps

lint: install
	$(BIN)/ruff check checkout tests bench
	$(BIN)/mypy

# Numbers for the README: loopback only, each part bounded in time (about 25 minutes in all).
bench: install
	./scripts/install-system-deps wrk postgresql
	$(BIN)/python bench/poll.py
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/acquirers.py

# 2,000 simulated buyers through the whole sandbox flow, on one instance (SQLite), then on two
# instances (PostgreSQL) behind a balancer; fails on any error, lost or doubled payment.
load: install
	./scripts/install-system-deps postgresql
	$(BIN)/python bench/load.py
	$(BIN)/python bench/load.py --cluster

# Re-pin every dependency after changing pyproject.toml.
lock:
	rm -rf /tmp/checkout-lock && $(PYTHON) -m venv /tmp/checkout-lock
	/tmp/checkout-lock/bin/pip install -q . && /tmp/checkout-lock/bin/pip freeze --exclude tpay-checkout > requirements.lock
	/tmp/checkout-lock/bin/pip install -q ".[dev]" && /tmp/checkout-lock/bin/pip freeze --exclude tpay-checkout > requirements-dev.lock

clean:
	rm -rf $(VENV) var
