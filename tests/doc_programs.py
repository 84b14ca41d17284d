"""The documentation's Python blocks, told apart by their titles.

Every ```python block of README.md and docs/*.md carries a title, which mkdocs-material shows
above it: a file name (``title="app.py"``) for a complete program, saved under that name, or
``title="Excerpt — not a complete program"`` for anything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
# Its programs need fastapi-users: tests/contrib/test_docs_page.py runs them where it is.
FASTAPI_USERS_PAGE = ROOT / "docs" / "fastapi-users.md"

EXCERPT = "Excerpt — not a complete program"
PROGRAM_NAME = re.compile(r"[A-Za-z_][\w-]*\.py")
PYTHON_FENCE = re.compile(r"^```python(?P<info>[^\n]*)\n(?P<code>.*?)^```", re.S | re.M)
TITLE = re.compile(r'\btitle="(?P<title>[^"]*)"')


@dataclass(frozen=True)
class Block:
    """One ```python block: its title and its code."""

    title: str | None
    code: str
    position: int  # where the fence starts in the page's text

    @property
    def is_program(self) -> bool:
        return self.title is not None and PROGRAM_NAME.fullmatch(self.title) is not None


def blocks(page: Path) -> list[Block]:
    """The page's Python blocks, in order."""
    found = []
    for fence in PYTHON_FENCE.finditer(page.read_text()):
        title = TITLE.search(fence["info"])
        found.append(Block(title["title"] if title else None, fence["code"], fence.start()))
    return found


def python_blocks(page: Path) -> list[str]:
    """The code of the page's Python blocks, in order."""
    return [block.code for block in blocks(page)]


def programs(page: Path) -> dict[str, str]:
    """The page's complete programs, by file name."""
    return {block.title: block.code for block in blocks(page) if block.title and block.is_program}


def run_in_order(page: Path) -> dict[str, Any]:
    """The page's blocks run top to bottom in one namespace, as a reader pastes excerpts into
    an application like the quickstart's, whose names (``UserDB``, ``fastapi_users``) they use.

    A program's ``if __name__ == "__main__":`` part does not run. ``SECRET`` (and
    ``REDIS_URL``, for a page that uses Redis) must be in the environment.
    """
    namespace: dict[str, Any] = {"__name__": f"docs_{page.stem}"}
    quickstart = ROOT / "docs" / "quickstart.md"
    sources = [(quickstart, programs(quickstart)["app.py"])]
    sources += [(page, block.code) for block in blocks(page)]
    for source, code in sources:
        exec(compile(code, str(source), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace
