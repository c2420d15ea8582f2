# medshield: `make run` serves the demo hospital, `make test` runs lint and the whole suite on
# SQLite and PostgreSQL. Both start from `make install`, which is idempotent.

SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
DATA ?= $(CURDIR)/data
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
APT_PACKAGES := chromium fonts-noto-cjk gettext graphviz tcpdump tshark
DEMO_USER ?= demo
DEMO_PASSWORD ?= medshield-demo
export MEDSHIELD_DATA_DIR ?= $(DATA)

.PHONY: install system-packages run test test-sqlite test-postgres postgres-up lint fix bench messages clean

# Coverage-guided fuzzing of the importers with atheris (not part of `make test`): each harness in
# fuzz/ runs FUZZ_SECONDS; a crash is saved as fuzz/crash-* with the input that caused it.
FUZZ_SECONDS ?= 120
FUZZ_HARNESSES := register feeds sboms discovery
.PHONY: fuzz
fuzz: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[fuzz]'
	cd fuzz && ../$(BIN)/python seed.py
	cd fuzz && for h in $(FUZZ_HARNESSES); do \
	  echo "== fuzz $$h ($(FUZZ_SECONDS) s)"; \
	  ../$(BIN)/python fuzz_$$h.py -max_total_time=$(FUZZ_SECONDS) -timeout=30 -rss_limit_mb=4096 \
	    -print_final_stats=1 corpus/$$h || exit 1; \
	done

PO_FILES := $(shell find medshield -name django.po)

install: system-packages $(VENV)/.installed node_modules/.installed medshield/.translations
	@# Bytecode of medshield's own modules, as pip writes it for every package it installs: an
	@# editable install has none, and where PYTHONDONTWRITEBYTECODE is set (containers, CI) each
	@# start compiled them all again (0.05 to 0.1 s of every command).
	$(BIN)/python -m compileall -q medshield >/dev/null

# Debian packages: only when one is missing, so a prepared machine needs no network.
system-packages:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "medshield needs $(PYTHON)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Every catalogue, the project's and the apps' own (compiled files are not in the repository).
medshield/.translations: $(PO_FILES) $(VENV)/.installed
	cd medshield && ../$(BIN)/django-admin compilemessages --settings=medshield.settings >/dev/null
	touch $@

messages: $(VENV)/.installed
	cd medshield && ../$(BIN)/django-admin makemessages --settings=medshield.settings -l ja -l en --no-obsolete --no-location

run: install
	$(BIN)/medshield migrate --no-input -v 0
	$(BIN)/medshield demo load --if-empty
	MEDSHIELD_PASSWORD='$(DEMO_PASSWORD)' $(BIN)/medshield createuser $(DEMO_USER) --admin --update --no-validate >/dev/null
	@echo ""
	@echo "  medshield: http://127.0.0.1:8000/"
	@echo "  demo login: $(DEMO_USER) / $(DEMO_PASSWORD)"
	@echo ""
	$(BIN)/medshield serve --bind 127.0.0.1:8000

lint: install
	$(BIN)/ruff check medshield tests benchmarks
	$(BIN)/ruff format --check medshield tests benchmarks
	$(BIN)/medshield makemigrations --check --dry-run

fix: install
	$(BIN)/ruff check --fix medshield tests benchmarks
	$(BIN)/ruff format medshield tests benchmarks

postgres-up:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; echo "PostgreSQL did not start"; exit 1

test-sqlite: install
	MEDSHIELD_DATA_DIR=$(DATA)/test DATABASE_URL= $(BIN)/pytest -n 2 -p no:cacheprovider

test-postgres: install postgres-up
	MEDSHIELD_DATA_DIR=$(DATA)/test DATABASE_URL=$(PG_URL) $(BIN)/pytest -n 2 -p no:cacheprovider

test: lint test-sqlite test-postgres

bench: install
	$(BIN)/python benchmarks/register.py

clean:
	rm -rf $(VENV) node_modules $(DATA)
