# Two commands are all the set-up anyone needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test install system-deps lint bench load lock clean

run: install
	$(BIN)/checkout serve

# Both cores: the suite in two workers, then the deployments under injected faults alone (their
# fault timings, e.g. an acquirer 4 s late against our 3 s timeout, assume no unrelated load).
test: install system-deps lint
	$(BIN)/pytest -n 2 -m "not solo"
	$(BIN)/pytest -m solo

install: $(STAMP)

$(STAMP): pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements-dev.lock
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
	$(BIN)/python bench/console.py
	$(BIN)/python bench/payment_cost.py

# 2,000 simulated buyers through the whole sandbox flow, on one instance (SQLite), then on two
# instances (PostgreSQL) behind a balancer; fails on any error, lost or doubled payment.
load: install
	./scripts/install-system-deps postgresql
	$(BIN)/python bench/load.py
	$(BIN)/python bench/load.py --cluster

# Re-pin every dependency after changing pyproject.toml, with the hash of every file (installs
# use --require-hashes). The current pins are kept where they still fit: `make lock UPGRADE=1`
# moves everything to the newest release.
LOCK_TOOL := /tmp/checkout-lock/bin/uv
LOCK_ARGS := --generate-hashes --python-version 3.11 --no-header --no-annotate -q
lock:
	rm -rf /tmp/checkout-lock && $(PYTHON) -m venv /tmp/checkout-lock
	/tmp/checkout-lock/bin/pip install -q uv
	cp requirements-dev.lock /tmp/checkout-lock/pins.txt
	$(LOCK_TOOL) pip compile pyproject.toml $(LOCK_ARGS) $(if $(UPGRADE),,-c /tmp/checkout-lock/pins.txt) -o requirements.lock
	$(LOCK_TOOL) pip compile pyproject.toml --extra dev $(LOCK_ARGS) $(if $(UPGRADE),,-c /tmp/checkout-lock/pins.txt) -o requirements-dev.lock

clean:
	rm -rf $(VENV) var
