# Two commands are all the set-up anyone needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test install system-deps lint bench lock clean

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

bench: install
	./scripts/install-system-deps wrk
	$(BIN)/python bench/poll.py
	$(BIN)/python bench/acquirers.py

# Re-pin every dependency after changing pyproject.toml.
lock:
	rm -rf /tmp/checkout-lock && $(PYTHON) -m venv /tmp/checkout-lock
	/tmp/checkout-lock/bin/pip install -q . && /tmp/checkout-lock/bin/pip freeze --exclude tpay-checkout > requirements.lock
	/tmp/checkout-lock/bin/pip install -q ".[dev]" && /tmp/checkout-lock/bin/pip freeze --exclude tpay-checkout > requirements-dev.lock

clean:
	rm -rf $(VENV) var
