"""Every complete program of README.md and docs/ runs as its page says, in an empty folder;
every other Python block says that it is an excerpt (tests/doc_programs.py: the convention)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.doc_programs import (
    EXCERPT,
    FASTAPI_USERS_PAGE,
    PAGES,
    README,
    blocks,
    program_pages,
    run_page,
    shell_lines,
    split_comment,
)
from tests.redis_servers import RedisServer

# The groups `make test` installs into the environment these tests run in.
TEST_ENVIRONMENT_GROUPS = ("dev",)
STARTS = {"uvicorn", "pytest", "python"}


@pytest.mark.parametrize(
    "page", [page for page in program_pages() if page != FASTAPI_USERS_PAGE], ids=lambda p: p.name
)
def test_each_pages_programs_run_as_the_page_says(
    page: Path, tmp_path: Path, redis_server: RedisServer
) -> None:
    """Copied into an empty folder, started and driven by the page's own commands."""
    folder = tmp_path / "programs"
    folder.mkdir()
    run = run_page(page, folder, redis_url=redis_server.url, groups=TEST_ENVIRONMENT_GROUPS)
    assert {command.split()[0] for command in run.done} & STARTS
    # A hook that fails is logged, and changes no answer: only the log shows it.
    assert "Traceback" not in run.output(), run.output()


def test_the_pages_with_programs_are_found() -> None:
    """These pages hold complete programs, so the test above is not vacuous."""
    found = {page.name for page in program_pages()}
    assert found >= {
        "README.md",
        "quickstart.md",
        "operations.md",
        "revocation.md",
        "testing.md",
        "codes.md",
        "fastapi-users.md",
    }


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_python_block_is_a_named_program_or_an_excerpt(page: Path) -> None:
    """``title="app.py"`` (a file name) or ``title="Excerpt — not a complete program"``."""
    titles = [block.title for block in blocks(page)]
    assert all(block.is_program or block.title == EXCERPT for block in blocks(page)), titles
    names = [block.title for block in blocks(page) if block.is_program]
    assert len(names) == len(set(names)), f"two programs share a file name: {names}"


@pytest.mark.parametrize("page", program_pages(), ids=lambda p: p.name)
def test_a_page_with_programs_says_how_to_run_them(page: Path) -> None:
    """A start command, and curl lines that show the status and say which one to expect."""
    commands = [split_comment(line) for line in shell_lines(page)]
    assert {command.split()[0] for command, _ in commands} & STARTS
    for command, comment in commands:
        if command.startswith("curl "):
            assert " -i " in command and re.match(r"\d{3}\b", comment), command


def test_the_readme_says_what_each_block_is_in_its_text() -> None:
    """GitHub and PyPI show no block titles: the paragraph above each block says it too."""
    text = README.read_text()
    for block in blocks(README):
        paragraph = text[: block.position].rstrip().rpartition("\n\n")[2]
        if block.is_program:
            assert f"`{block.title}`" in paragraph, paragraph
        else:
            assert "excerpt" in paragraph.lower(), paragraph
