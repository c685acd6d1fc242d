# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501

.PHONY: run watch test lint check-browser check-postgres sandbox bench messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files: reinstall only when a requirements file changes.
$(VENV)/.run-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.run-installed

run: $(VENV)/.run-installed
	$(BIN)/streamlit run dashboard/streamlit_app.py --server.port $(PORT)

# The watcher (contract 12): moves the key's active jobs with no page open; run it beside `make
# run`, with the same OPENAI_API_KEY, OPENAI_BASE_URL and BATCHDASH_DB_URL. EVERY: seconds a round.
EVERY ?= 30
watch: $(VENV)/.run-installed
	$(BIN)/python dashboard/cli.py watch --every $(EVERY)

# The browser tests drive Debian's Chromium; Playwright cannot download its own here. Their
# screenshots of the Chinese pages need a CJK font (an analyst's own browser has one).
check-browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@dpkg -s fonts-noto-cjk >/dev/null 2>&1 || { \
	  echo "Installing Debian's fonts-noto-cjk for screenshots of the Chinese pages"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null; }

# The registry tests start a private PostgreSQL cluster (initdb + pg_ctl) of their own.
check-postgres:
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  echo "Installing Debian's postgresql for the registry tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check dashboard tests bench
	$(BIN)/ruff format --check dashboard tests bench
	$(BIN)/mypy

# pytest starts and stops what the tests need itself (the sandbox, PostgreSQL, Streamlit).
# The browser journeys run in two worker processes, a file per worker at a time (each worker
# serves its own Streamlit apps and sandboxes; a journey mostly waits on them), with the type
# check beside them on the core they leave idle; the rest runs in three worker processes (its
# tests wait on servers and child processes too), each with its own PostgreSQL cluster and
# sandboxes on free ports, an idle worker taking queued tests from a busy one.
# Each run goes on whatever the others found; the target fails if any did.
test: $(VENV)/.dev-installed check-browser check-postgres
	$(BIN)/ruff check dashboard tests bench
	$(BIN)/ruff format --check dashboard tests bench
	@types=0; journeys=0; rest=0; report=$$(mktemp); \
	$(BIN)/mypy > $$report 2>&1 & checking=$$!; \
	$(BIN)/python -m pytest --numprocesses 2 --dist loadfile tests/e2e || journeys=$$?; \
	wait $$checking || types=$$?; echo "mypy:"; cat $$report; rm -f $$report; \
	$(BIN)/python -m pytest --numprocesses 3 --dist worksteal --ignore tests/e2e || rest=$$?; \
	if [ $$types -ne 0 ] || [ $$journeys -ne 0 ] || [ $$rest -ne 0 ]; then \
	  echo "Failed: mypy exit $$types, journeys exit $$journeys, the rest exit $$rest"; exit 1; fi

# The catalogs: the sentences of the code (babel.cfg) into the template, and the template's new
# and changed sentences into each language's .po, for translating (docs/translating.md).
LOCALES := dashboard/batchdash/i18n/locales
messages: $(VENV)/.dev-installed
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k n_:1,2 -k n_l:1,2 --no-location \
	  --sort-output --omit-header -o $(LOCALES)/batchdash.pot .
	$(BIN)/pybabel -q update -i $(LOCALES)/batchdash.pot -d $(LOCALES) -D batchdash \
	  -l zh_CN --ignore-obsolete --no-fuzzy-matching --ignore-pot-creation-date

sandbox: $(VENV)/.run-installed
	$(BIN)/python dashboard/cli.py sandbox

# Every script runs, whatever an earlier one found; a missed budget is summed up at the end
# (and makes the target fail there, not before the other scripts).
bench: $(VENV)/.dev-installed
	@missed=""; for script in bench/bench_*.py; do \
	  echo "== $$script"; $(BIN)/python $$script || missed="$$missed $$script"; \
	done; \
	if [ -n "$$missed" ]; then echo "Budgets missed or scripts failed:$$missed"; exit 1; fi; \
	echo "Every bench script kept its budget."

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache test-artifacts
