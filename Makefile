# Two commands on a fresh clone: `make run` (the embedded default) and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test chromium promtool lint format bench clean

# requirements-dev.txt includes requirements.txt (what production installs) and adds the suite,
# the linters and the browser driver; the stamp follows both files.
$(INSTALLED): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

run: export DJANGO_DEBUG ?= 1
run: $(INSTALLED)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py runserver $(HOST):$(PORT)

test: export DJANGO_SECRET_KEY ?= insecure-key-for-the-test-suite-only
test: $(INSTALLED) chromium promtool
	$(PY) -m pytest $(PYTEST_ARGS)

# The browser tests drive Debian's Chromium (Playwright's own download is not used).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y chromium; \
	  else echo "Chromium is missing: run 'sudo apt-get install -y chromium' for the browser tests" \
	    "(they are skipped without it, and fail in CI)."; fi; }

# The alert rules (deploy/prometheus/alerts.yml) are checked by Debian's promtool.
promtool:
	@command -v promtool >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y --no-install-recommends prometheus; \
	  else echo "promtool is missing: run 'sudo apt-get install -y prometheus' for the alert rules test" \
	    "(it is skipped without it, and fails in CI)."; fi; }

# mypy's Django plugin loads the settings, which want a key outside DEBUG.
lint: export DJANGO_SECRET_KEY ?= insecure-key-for-the-type-checker-only
lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/djlint templates --lint

format: $(INSTALLED)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) db.sqlite3 media staticfiles .pytest_cache .ruff_cache .mypy_cache

bench: $(INSTALLED)
	$(PY) -m pip install --quiet -r bench/requirements.txt
	bench/run.sh all
