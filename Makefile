# Every target builds what it needs: a fresh clone with Python 3.11+ and make is enough.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# The demo's own environment: the package with the `demo` extra and nothing of the toolchain.
DEMO_VENV := .venv-demo
DEMO_BIN := $(DEMO_VENV)/bin

BENCH_VENV := .venv-bench
FASTAPI_USERS_VENV := .venv-fastapi-users
FASTAPI_USERS_VERSION := 15.0.5

.PHONY: install demo-install demo test lint typecheck unit docs screenshots system-packages redis-server wrk bench bench-quick bench-swap bench-swap-quick clean

install: $(INSTALLED)

CHECK_PYTHON = @$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	{ echo "Python 3.11 or newer is required (PYTHON=$(PYTHON))"; exit 1; }

# The package with every extra the tests use, and the developer tools from the `dev`
# dependency group (PEP 735: `pip install --group` needs pip 25.1 or newer).
$(INSTALLED): pyproject.toml
	$(CHECK_PYTHON)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade 'pip>=25.1'
	$(BIN)/python -m pip install --quiet -e '.[redis,sqlite,postgresql,demo]' --group dev
	touch $@

demo-install: $(DEMO_VENV)/.installed

$(DEMO_VENV)/.installed: pyproject.toml
	$(CHECK_PYTHON)
	$(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_BIN)/python -m pip install --quiet -e '.[demo]'
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
	$(BIN)/python -m pip install --quiet -e '.[redis]' --group bench
	mkdir -p $(BENCH_VENV) && touch $@

# fastapi-users pins email-validator<2.4 and its SQLAlchemy adapter SQLAlchemy<2.1, which
# this project's stack does not: they get a virtual environment of their own, with the same
# FastAPI, uvicorn and argon2-cffi. It runs the stock application of the benchmarks, and the
# tests of fastapi_password_reset.contrib.fastapi_users (this package with that extra).
$(FASTAPI_USERS_VENV)/.installed: $(INSTALLED) pyproject.toml
	$(PYTHON) -m venv $(FASTAPI_USERS_VENV)
	$(FASTAPI_USERS_VENV)/bin/python -m pip install --quiet --upgrade 'pip>=25.1'
	$(FASTAPI_USERS_VENV)/bin/python -m pip install --quiet \
		-e '.[redis,sqlite,postgresql,fastapi-users]' --group test --group lint \
		"fastapi-users[sqlalchemy]==$(FASTAPI_USERS_VERSION)" \
		"fastapi==$$($(BIN)/python -c 'import fastapi; print(fastapi.__version__)')" \
		"uvicorn==$$($(BIN)/python -c 'import uvicorn; print(uvicorn.__version__)')" \
		"argon2-cffi==$$($(BIN)/python -c 'from importlib.metadata import version; print(version("argon2-cffi"))')"
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

clean:
	rm -rf $(VENV) $(DEMO_VENV) $(BENCH_VENV) $(FASTAPI_USERS_VENV) .mypy_cache .ruff_cache .pytest_cache
