"""Every Python sample in docs/ runs, and the site builds in strict mode."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SECRET
from tests.redis_servers import RedisServer

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "docs").glob("*.md"))


def python_blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(), re.S)


def test_there_are_samples_to_run() -> None:
    """The pages hold samples, so the test below is not vacuous."""
    assert sum(len(python_blocks(page)) for page in PAGES) >= 8


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=lambda p: p.name)
def test_each_pages_samples_run_in_order(
    page: Path, monkeypatch: pytest.MonkeyPatch, redis_server: RedisServer
) -> None:
    """A page's samples run top to bottom in one namespace, as a reader would paste them."""
    monkeypatch.setenv("SECRET", SECRET)
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    namespace: dict[str, Any] = {"__name__": f"docs_{page.stem}"}
    for block in python_blocks(page):
        exec(compile(block, str(page), "exec"), namespace)  # noqa: S102 - our own documentation


def test_the_site_builds_in_strict_mode(tmp_path: Path) -> None:
    """mkdocs build --strict: no broken link, no missing page, every reference resolves."""
    mkdocs = shutil.which("mkdocs", path=str(Path(sys.executable).parent)) or "mkdocs"
    result = subprocess.run(
        [mkdocs, "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "site" / "reference" / "index.html").exists()
