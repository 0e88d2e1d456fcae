# Two commands matter: `make run` (the whole system with demo data) and `make test` (the whole test suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HTMX := wizard/static/vendor/htmx.min.js
#: Benchmarks that load the whole machine take this lock, so only one runs at a time.
BENCH_LOCK ?= /tmp/bench.lock

.PHONY: run test setup deps test-deps lint typecheck bench bench-web bench-load migration clean

run: setup ## Start web, worker, scheduler, sandbox (and Redis if REDIS_URL is unset) with demo data
	$(BIN)/python bin/dev

test: setup test-deps ## Install what the tests need (Redis, Chromium, PostgreSQL); run the suite on both databases
	$(BIN)/python -m pytest --db=sqlite
	$(BIN)/python -m pytest --db=postgresql

setup: $(VENV)/.installed $(HTMX)

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

$(HTMX): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(dir $(HTMX))
	cp node_modules/htmx.org/dist/htmx.min.js $(HTMX)

test-deps: ## Debian packages for the tests: redis-server, chromium, postgresql (skipped when present)
	bin/install-test-deps

lint: setup
	$(BIN)/ruff check wizard jobs sandbox tests bench

typecheck: setup
	$(BIN)/mypy wizard jobs sandbox

bench: setup
	APP_ENV=development $(BIN)/python bench/bench_settings_catalog.py
	APP_ENV=development $(BIN)/python bench/bench_sync.py

bench-web: setup ## Web pages' p95 against a bare Flask hello-world (gunicorn, ab -c 8), on SQLite then PostgreSQL: make bench-web ARGS=--million
	command -v ab >/dev/null 2>&1 || bin/install-test-deps
	$(BIN)/python bench/bench_web.py $(ARGS)
	$(BIN)/python bench/bench_web.py --postgresql $(ARGS)

bench-load: setup ## Thousands of merchants at once (issue 12 §4), alone on the machine: make bench-load ARGS="--accounts 200"
	command -v redis-server >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || bin/install-test-deps
	flock $(BENCH_LOCK) $(BIN)/python bench/bench_load.py $(ARGS)

migration: setup ## Autogenerate a migration after changing models: make migration m="what changed"
	$(BIN)/python -c "from alembic import command; from wizard.migrate import alembic_config as c; \
	import os; command.revision(c(os.environ.get('DATABASE_URL','sqlite:///var/migrate.sqlite')), message='$(m)', autogenerate=True)"

clean:
	rm -rf $(VENV) node_modules $(dir $(HTMX)) var .pytest_cache
