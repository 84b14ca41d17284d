"""Every Python block of README.md and docs/ says whether it is a complete program or an
excerpt (tests/doc_programs.py: the convention)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.doc_programs import EXCERPT, PAGES, README, blocks


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_python_block_is_a_named_program_or_an_excerpt(page: Path) -> None:
    """``title="app.py"`` (a file name) or ``title="Excerpt — not a complete program"``."""
    titles = [block.title for block in blocks(page)]
    assert all(block.is_program or block.title == EXCERPT for block in blocks(page)), titles
    names = [block.title for block in blocks(page) if block.is_program]
    assert len(names) == len(set(names)), f"two programs share a file name: {names}"


def test_the_readme_says_what_each_block_is_in_its_text() -> None:
    """GitHub and PyPI show no block titles: the paragraph above each block says it too."""
    text = README.read_text()
    for block in blocks(README):
        paragraph = text[: block.position].rstrip().rpartition("\n\n")[2]
        if block.is_program:
            assert f"`{block.title}`" in paragraph, paragraph
        else:
            assert "excerpt" in paragraph.lower(), paragraph
