# helpdesk: `make run` to try it, `make test` to test it. Needs python3 (3.11+) and, for the
# browser tests, Debian's chromium, and for the IMAP tests Dovecot (both installed by `make test` as root).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev
PIP := $(BIN)/python -m pip --disable-pip-version-check

HOST ?= 127.0.0.1
PORT ?= 5000
DEV_MAIL_PORT ?= 8025
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=
# Test processes per pass (pytest-xdist); 0 runs the suite in one process.
PYTEST_WORKERS ?= 2

.PHONY: run test lint clean distclean

# --- the virtual environment; packages are installed again only when a requirements file changes ---

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): requirements.txt | $(BIN)/python
	$(PIP) install -q -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(PIP) install -q -r requirements-dev.txt
	touch $@ $(RUN_STAMP)

# --- make run: the desk with demo data and a local mail catcher ------------------------------------

run: $(RUN_STAMP)
	@set -euo pipefail; \
	mkdir -p instance; \
	$(BIN)/flask --app app db upgrade; \
	$(BIN)/flask --app app seed-demo --if-empty \
	  | sed 's/^The desk already has data; demo data not loaded\.$$/Demo desk already loaded; the demo logins are in README.md ("Demo logins")./'; \
	catcher=""; \
	cleanup() { if [ -n "$$catcher" ]; then kill "$$catcher" 2>/dev/null || true; wait "$$catcher" 2>/dev/null || true; fi; }; \
	trap cleanup EXIT; trap 'exit 130' INT; trap 'exit 143' TERM; \
	if [ -z "$${MAIL_SERVER:-}" ]; then \
	  maildir="$(CURDIR)/instance/mail"; \
	  if (exec 3<>/dev/tcp/127.0.0.1/$(DEV_MAIL_PORT)) 2>/dev/null; then \
	    echo "Port $(DEV_MAIL_PORT) is in use (another make run?): stop that first, or set MAIL_SERVER." >&2; exit 1; fi; \
	  $(BIN)/flask --app app mail catch --host 127.0.0.1 --port $(DEV_MAIL_PORT) --maildir "$$maildir" & catcher=$$!; \
	  for _ in $$(seq 50); do \
	    if ! kill -0 "$$catcher" 2>/dev/null; then \
	      echo "The mail catcher could not start: is port $(DEV_MAIL_PORT) in use?" >&2; catcher=""; exit 1; fi; \
	    if (exec 3<>/dev/tcp/127.0.0.1/$(DEV_MAIL_PORT)) 2>/dev/null; then break; fi; \
	    sleep 0.1; \
	  done; \
	  export MAIL_SERVER=127.0.0.1 MAIL_PORT=$(DEV_MAIL_PORT) HELPDESK_DEV_MAILBOX="$$maildir"; \
	  echo "Mail goes to the local catcher; read it at http://$(HOST):$(PORT)/admin/dev-mailbox (signed in as admin)."; \
	else \
	  echo "Mail goes to $$MAIL_SERVER:$${MAIL_PORT:-25}."; \
	fi; \
	export HELPDESK_BACKGROUND_SENDER="$${HELPDESK_BACKGROUND_SENDER:-1}"; \
	export HELPDESK_BASE_URL="$${HELPDESK_BASE_URL:-http://$(HOST):$(PORT)}"; \
	echo "The desk: http://$(HOST):$(PORT)/  Staff sign-in: http://$(HOST):$(PORT)/login  (Ctrl+C stops)"; \
	$(BIN)/flask --app app run --host $(HOST) --port $(PORT)

# --- make lint: ruff (errors and sorted imports) and the import contracts (layers, no circles) ---

lint: $(DEV_STAMP)
	@echo "== Lint: ruff (ruff.toml) and the import contracts (.importlinter)"
	@$(BIN)/ruff check --quiet . && echo "ruff: clean"
	@$(BIN)/lint-imports --no-cache | sed -n '/^Contracts:/p; /BROKEN/,$$p'; \
	  $(BIN)/lint-imports --no-cache >/dev/null

# --- make test: lint, then the suite on SQLite, then again on PostgreSQL when one answers on 127.0.0.1:5432 ---

test: lint
	@set -euo pipefail; \
	if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's chromium for the browser tests..."; \
	    apt-get update -q; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	  else \
	    echo "No /usr/bin/chromium (and not root to install it): browser tests will be skipped."; \
	  fi; \
	fi; \
	if [ ! -x /usr/sbin/dovecot ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Dovecot for the IMAP tests (a private instance is started per run; the system one is left alone)..."; \
	    apt-get update -q; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q dovecot-imapd; \
	  else \
	    echo "No /usr/sbin/dovecot (and not root to install it): IMAP tests will be skipped."; \
	  fi; \
	fi; \
	echo "== Test suite on SQLite"; \
	env -u HELPDESK_TEST_POSTGRES $(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS); \
	if why=$$($(BIN)/python -c 'import sys, psycopg; psycopg.connect(sys.argv[1], connect_timeout=3).close()' "$(PG_TEST_URL)" 2>&1); then \
	  echo "== Test suite on PostgreSQL ($(PG_TEST_URL))"; \
	  HELPDESK_TEST_POSTGRES="$(subst postgresql://,postgresql+psycopg://,$(PG_TEST_URL))" $(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS); \
	elif [ -n "$${CI:-}" ]; then \
	  echo "PostgreSQL pass failed: no server on 127.0.0.1:5432, and CI needs it. $$(echo "$$why" | tail -1)" >&2; \
	  exit 1; \
	else \
	  echo "PostgreSQL pass skipped: no server on 127.0.0.1:5432 ($$(echo "$$why" | tail -1))"; \
	fi

# --- housekeeping (instance/ keeps the database, uploads, mail and secret key: never removed) ---

clean:
	rm -f $(RUN_STAMP) $(DEV_STAMP)
	rm -rf .pytest_cache test-results
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
