# Every target builds what it needs: a fresh clone with Python 3.11+ and make is enough.
PYTHON ?= python3
, := ,
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# The demo's own environment: the package with the `demo` extra and nothing of the toolchain.
DEMO_VENV := .venv-demo
DEMO_BIN := $(DEMO_VENV)/bin

BENCH_VENV := .venv-bench
FASTAPI_USERS_VENV := .venv-fastapi-users

# What `make test` and `make demo` install: every version pinned, so that a new machine gets
# what passed here (`make lock` writes these files again from pyproject.toml).
LOCK := requirements/dev.txt
FASTAPI_USERS_LOCK := requirements/fastapi-users.txt
# The lowest versions pyproject.toml allows (`make test-lowest`, in CI too), with the adapter
# on the lowest fastapi-users 13 and 14.
LOWEST_LOCK := requirements/lowest.txt
LOWEST_VENV := .venv-lowest
LOWEST_FASTAPI_USERS := 13 14
# The newest releases of everything (`make test-latest`): resolved anew at each run.
LATEST_VENV := .venv-latest
EXTRAS := redis,sqlite,postgresql,demo
ADAPTER_EXTRAS := redis,sqlite,postgresql,fastapi-users

.PHONY: install demo-install demo test test-lowest test-latest lock lint typecheck unit docs screenshots system-packages redis-server wrk bench bench-quick bench-swap bench-swap-quick clean

install: $(INSTALLED)

CHECK_PYTHON = @$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	{ echo "Python 3.11 or newer is required (PYTHON=$(PYTHON))"; exit 1; }

# The package with every extra the tests use, and the developer tools from the `dev`
# dependency group (PEP 735: `pip install --group` needs pip 25.1 or newer).
$(INSTALLED): pyproject.toml $(LOCK)
	$(CHECK_PYTHON)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade 'pip>=25.1'
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e '.[$(EXTRAS)]' --group dev
	touch $@

demo-install: $(DEMO_VENV)/.installed

$(DEMO_VENV)/.installed: pyproject.toml $(LOCK)
	$(CHECK_PYTHON)
	$(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_BIN)/python -m pip install --quiet -c $(LOCK) -e '.[demo]'
	touch $@

demo: $(DEMO_VENV)/.installed
	$(DEMO_BIN)/python -m demo $(if $(PORT),--port $(PORT))

# The tests start their own redis-server, PostgreSQL and Chromium processes: install the
# Debian packages that provide them when any is missing.
APT_INSTALL = SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); $$SUDO apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends

system-packages:
	@missing=""; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
		|| missing="$$missing postgresql"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; $(APT_INSTALL) $$missing >/dev/null; fi
	@command -v redis-server >/dev/null && command -v chromium >/dev/null \
		&& { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null; } \
		|| { echo "redis-server, postgresql and chromium are needed and could not be installed"; exit 1; }

redis-server: system-packages

wrk:
	@command -v wrk >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk >/dev/null; }

$(BENCH_VENV)/.installed: pyproject.toml $(INSTALLED)
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e '.[redis]' --group bench
	mkdir -p $(BENCH_VENV) && touch $@

# fastapi-users pins email-validator<2.4 and its SQLAlchemy adapter SQLAlchemy<2.1, which
# this project's stack does not: they get a virtual environment of their own, locked to the
# same FastAPI, uvicorn and argon2-cffi. It runs the stock application of the benchmarks, and
# the tests of fastapi_password_reset.contrib.fastapi_users (this package with that extra).
$(FASTAPI_USERS_VENV)/.installed: pyproject.toml $(FASTAPI_USERS_LOCK)
	$(CHECK_PYTHON)
	$(PYTHON) -m venv $(FASTAPI_USERS_VENV)
	$(FASTAPI_USERS_VENV)/bin/python -m pip install --quiet --upgrade 'pip>=25.1'
	$(FASTAPI_USERS_VENV)/bin/python -m pip install --quiet -c $(FASTAPI_USERS_LOCK) \
		-e '.[$(ADAPTER_EXTRAS)]' --group test --group lint -r requirements/fastapi-users.in
	touch $@

BENCH_DEPS := $(BENCH_VENV)/.installed $(FASTAPI_USERS_VENV)/.installed redis-server wrk

bench: $(BENCH_DEPS)
	$(BIN)/python -m benchmarks.run --fastapi-users-python $(FASTAPI_USERS_VENV)/bin/python

bench-quick: $(BENCH_DEPS)
	$(BIN)/python -m benchmarks.run --fastapi-users-python $(FASTAPI_USERS_VENV)/bin/python --quick

# One fastapi-users application with its own reset router and with this library's
# (docs/fastapi-users-benchmark.md).
bench-swap: $(FASTAPI_USERS_VENV)/.installed system-packages wrk
	$(FASTAPI_USERS_VENV)/bin/python -m benchmarks.swap

bench-swap-quick: $(FASTAPI_USERS_VENV)/.installed system-packages wrk
	$(FASTAPI_USERS_VENV)/bin/python -m benchmarks.swap --quick

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(INSTALLED) $(FASTAPI_USERS_VENV)/.installed
	$(BIN)/mypy
	$(FASTAPI_USERS_VENV)/bin/mypy --config-file tests/contrib/mypy.ini

unit: $(INSTALLED) $(FASTAPI_USERS_VENV)/.installed system-packages
	$(BIN)/pytest
	$(FASTAPI_USERS_VENV)/bin/pytest tests/contrib

docs: $(INSTALLED)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

# Refresh the demo screenshots the documentation shows.
screenshots: $(INSTALLED) system-packages
	DEMO_SCREENSHOTS=docs/img $(BIN)/pytest tests/test_demo_browser.py

test: lint typecheck unit

# The suite on the lowest versions pyproject.toml declares; the adapter's suite on the lowest
# fastapi-users 13 and 14 (15 is the locked set's).
$(LOWEST_VENV)/.installed: pyproject.toml $(LOWEST_LOCK)
	$(CHECK_PYTHON)
	$(PYTHON) -m venv $(LOWEST_VENV)
	$(LOWEST_VENV)/bin/python -m pip install --quiet --upgrade 'pip>=25.1'
	$(LOWEST_VENV)/bin/python -m pip install --quiet -c $(LOWEST_LOCK) -e '.[$(EXTRAS)]' --group dev
	touch $@

$(LOWEST_VENV)-fastapi-users-%/.installed: pyproject.toml requirements/lowest-fastapi-users-%.txt
	$(CHECK_PYTHON)
	$(PYTHON) -m venv $(LOWEST_VENV)-fastapi-users-$*
	$(LOWEST_VENV)-fastapi-users-$*/bin/python -m pip install --quiet --upgrade 'pip>=25.1'
	$(LOWEST_VENV)-fastapi-users-$*/bin/python -m pip install --quiet \
		-c requirements/lowest-fastapi-users-$*.txt -e '.[$(ADAPTER_EXTRAS)]' --group test \
		'fastapi-users[sqlalchemy]==$*.*'
	touch $@

test-lowest: $(LOWEST_VENV)/.installed $(foreach v,$(LOWEST_FASTAPI_USERS),$(LOWEST_VENV)-fastapi-users-$(v)/.installed) system-packages
	$(LOWEST_VENV)/bin/python -m pip freeze --exclude-editable | grep -iE '^(fastapi|starlette|pydantic|redis|sqlalchemy|asyncpg|aiosqlite|argon2-cffi|pyjwt)=='
	$(LOWEST_VENV)/bin/pytest
	for v in $(LOWEST_FASTAPI_USERS); do \
		$(LOWEST_VENV)-fastapi-users-$$v/bin/python -m pip freeze | grep -iE '^(fastapi-users|sqlalchemy)==' && \
		$(LOWEST_VENV)-fastapi-users-$$v/bin/pytest tests/contrib || exit 1; \
	done

# The suite on today's newest releases, resolved at each run (kept out of CI: a new upstream
# release must not block a landing). Lint and types included, which a new mypy may change.
test-latest: system-packages
	$(CHECK_PYTHON)
	rm -rf $(LATEST_VENV) $(LATEST_VENV)-fastapi-users
	$(PYTHON) -m venv $(LATEST_VENV)
	$(LATEST_VENV)/bin/python -m pip install --quiet --upgrade 'pip>=25.1'
	$(LATEST_VENV)/bin/python -m pip install --quiet --upgrade -e '.[$(EXTRAS)]' --group dev
	$(PYTHON) -m venv $(LATEST_VENV)-fastapi-users
	$(LATEST_VENV)-fastapi-users/bin/python -m pip install --quiet --upgrade 'pip>=25.1'
	$(LATEST_VENV)-fastapi-users/bin/python -m pip install --quiet --upgrade \
		-e '.[$(ADAPTER_EXTRAS)]' --group test --group lint
	$(LATEST_VENV)/bin/python -m pip freeze --exclude-editable | grep -iE '^(fastapi|starlette|pydantic|redis|sqlalchemy|asyncpg|aiosqlite|argon2-cffi|pyjwt)=='
	$(LATEST_VENV)-fastapi-users/bin/python -m pip freeze | grep -iE '^(fastapi-users|sqlalchemy)=='
	$(LATEST_VENV)/bin/ruff check .
	$(LATEST_VENV)/bin/mypy
	$(LATEST_VENV)-fastapi-users/bin/mypy --config-file tests/contrib/mypy.ini
	$(LATEST_VENV)/bin/pytest
	$(LATEST_VENV)-fastapi-users/bin/pytest tests/contrib

# Write the lock files again from pyproject.toml (uv, pinned here, in a venv of its own).
UV_VERSION := 0.13.8
LOCK_VENV := .venv-lock
UV := $(LOCK_VENV)/bin/uv
UV_COMPILE = $(UV) pip compile --quiet --universal --python-version 3.11 --custom-compile-command 'make lock'

$(UV):
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet 'uv==$(UV_VERSION)'

lock: $(UV)
	$(UV_COMPILE) --upgrade pyproject.toml $(foreach e,$(subst $(,), ,$(EXTRAS)),--extra $(e)) \
		--group pyproject.toml:dev --group pyproject.toml:bench -o $(LOCK)
	grep -E '^(fastapi|uvicorn|argon2-cffi)==' $(LOCK) > $(LOCK_VENV)/same-as-dev.txt
	$(UV_COMPILE) --upgrade pyproject.toml requirements/fastapi-users.in \
		$(foreach e,$(subst $(,), ,$(ADAPTER_EXTRAS)),--extra $(e)) \
		--group pyproject.toml:test --group pyproject.toml:lint \
		-c $(LOCK_VENV)/same-as-dev.txt -o $(FASTAPI_USERS_LOCK)
	$(UV_COMPILE) --upgrade --resolution lowest-direct pyproject.toml \
		$(foreach e,$(subst $(,), ,$(EXTRAS)),--extra $(e)) --group pyproject.toml:dev -o $(LOWEST_LOCK)
	for v in $(LOWEST_FASTAPI_USERS); do \
		echo "fastapi-users[sqlalchemy]==$$v.*" > $(LOCK_VENV)/fastapi-users-$$v.in && \
		$(UV_COMPILE) --upgrade --resolution lowest-direct pyproject.toml $(LOCK_VENV)/fastapi-users-$$v.in \
			$(foreach e,$(subst $(,), ,$(ADAPTER_EXTRAS)),--extra $(e)) --group pyproject.toml:test \
			-o requirements/lowest-fastapi-users-$$v.txt || exit 1; \
	done

clean:
	rm -rf $(VENV) .venv-* .mypy_cache .ruff_cache .pytest_cache
