"""docs/fastapi-users.md, with fastapi-users installed: its application runs as the page says,
its excerpt fits that application, and the README's swap is the page's change."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

from tests.conftest import SECRET
from tests.doc_programs import FASTAPI_USERS_PAGE, README, blocks, run_page

# The groups `make` installs into .venv-fastapi-users, where these tests run.
ADAPTER_ENVIRONMENT_GROUPS = ("test", "lint")


def test_the_pages_application_runs_as_the_page_says(tmp_path: Path) -> None:
    """In an empty folder: uvicorn starts it (its lifespan creates the tables), and register,
    forgot-password, reset with the printed token, a reuse and a log-in answer as the page says."""
    folder = tmp_path / "programs"
    folder.mkdir()
    run = run_page(FASTAPI_USERS_PAGE, folder, redis_url=None, groups=ADAPTER_ENVIRONMENT_GROUPS)
    assert "uvicorn app:app" in run.done
    assert sum(command.startswith("curl ") for command in run.done) == 5
    assert "Traceback" not in run.output(), run.output()


def test_the_options_excerpt_builds_a_router_for_the_pages_application(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The application, then the excerpt that passes it options, in one module."""
    monkeypatch.chdir(tmp_path)  # the application's SQLite file lands here
    monkeypatch.setenv("SECRET", SECRET)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")  # built, never connected
    # A module of its own: pydantic looks generic models' modules up in sys.modules.
    module = types.ModuleType("docs_fastapi_users")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    page_blocks = blocks(FASTAPI_USERS_PAGE)
    assert [block.title for block in page_blocks if block.is_program] == ["app.py"]
    for block in page_blocks:
        exec(compile(block.code, str(FASTAPI_USERS_PAGE), "exec"), module.__dict__)  # noqa: S102
    paths = {getattr(route, "path", None) for route in module.reset_router.routes}
    assert {"/forgot-password", "/reset-password"} <= paths


def test_the_readmes_swap_is_the_change_the_page_highlights() -> None:
    """The README's excerpt is, line for line, what the page's program highlights as changed."""
    [program] = [block for block in blocks(FASTAPI_USERS_PAGE) if block.is_program]
    text = FASTAPI_USERS_PAGE.read_text()
    info = text[program.position :].partition("\n")[0]
    spans = re.search(r'hl_lines="([^"]*)"', info)
    assert spans, info
    highlighted: set[int] = set()
    for span in spans[1].split():
        first, _, last = span.partition("-")
        highlighted |= set(range(int(first), int(last or first) + 1))
    lines = program.code.splitlines()
    changed = [lines[number - 1] for number in sorted(highlighted)]
    [readme_swap] = [block for block in blocks(README) if "contrib.fastapi_users" in block.code]
    swap = [line for line in readme_swap.code.splitlines() if line.strip()]
    assert [line for line in changed if not line.startswith("#")] == swap
