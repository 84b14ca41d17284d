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


# Its samples need fastapi-users: tests/contrib/test_docs_page.py runs them where it is.
FASTAPI_USERS_PAGE = ROOT / "docs" / "fastapi-users.md"


@pytest.mark.parametrize(
    "page", [p for p in PAGES if python_blocks(p) and p != FASTAPI_USERS_PAGE], ids=lambda p: p.name
)
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


# A URL that names a host: `https://…`, `http://…` or protocol-relative `//…`.
OTHER_HOST = r"(?:https?:)?//"


def test_the_built_site_loads_nothing_from_another_host(tmp_path: Path) -> None:
    """No font, script, style or image comes from another host: the site works offline."""
    mkdocs = shutil.which("mkdocs", path=str(Path(sys.executable).parent)) or "mkdocs"
    site = tmp_path / "site"
    result = subprocess.run(
        [mkdocs, "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    pages, styles = sorted(site.rglob("*.html")), sorted(site.rglob("*.css"))
    assert pages and styles
    loads: list[str] = []
    for page in pages:
        html = page.read_text()
        for tag in re.findall(r"<(?:script|link|img|iframe|source|audio|video)\b[^>]*>", html):
            if re.search(r"\brel=\"?canonical\b", tag):  # site_url's address: a name, not a load
                continue
            if re.search(rf"\b(?:src|href|srcset)=\"?{OTHER_HOST}", tag):
                loads.append(f"{page.relative_to(site)}: {tag}")
        # Material fetches mermaid from a CDN only for a page that has a diagram.
        assert 'class="mermaid"' not in html, page
    for style in styles:
        css = style.read_text()
        loads += [
            f"{style.relative_to(site)}: {url}"
            for url in re.findall(rf"(?:url\(\s*|@import\s+)[\"']?({OTHER_HOST}[^\"')\s]+)", css)
        ]
    assert loads == []
    for path in site.rglob("*"):
        if path.suffix in {".html", ".css", ".js"}:
            text = path.read_text(errors="replace")
            assert "fonts.googleapis" not in text and "fonts.gstatic" not in text, path


@pytest.mark.anyio
async def test_the_token_lengths_the_docs_state_are_those_issued() -> None:
    """JWT reset tokens of UUID ids are 309 characters; Redis ones a 22-character tag, a dot, 43."""
    import fakeredis

    from fastapi_password_reset.tokens import (
        JWTResetTokenStrategy,
        RedisResetTokenStrategy,
        ResetTokenStrategy,
    )
    from tests.conftest import open_harness

    redis = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer())
    strategies: list[tuple[str, ResetTokenStrategy]] = [
        ("jwt", JWTResetTokenStrategy()),
        ("redis", RedisResetTokenStrategy(redis)),
    ]
    issued: dict[str, list[str]] = {}
    for name, strategy in strategies:
        async with open_harness(strategy) as harness:
            emails = ["a@example.com", "someone.with.a.much.longer.address@example.org"]
            for email in emails:
                await harness.add_user(email)
            issued[name] = [await harness.token_for(email) for email in emails]
    await redis.aclose()
    assert {len(token) for token in issued["jwt"]} == {309}
    for token in issued["redis"]:
        tag, random_part = token.split(".")
        assert (len(tag), len(random_part), len(token)) == (22, 43, 66)
    for page in [ROOT / "README.md", ROOT / "docs" / "strategies.md"]:
        [row] = [line for line in page.read_text().splitlines() if line.startswith("| token |")]
        assert "JWT, 309 characters" in row, page
        assert "66 URL-safe characters: a 22-character keyed tag" in row, page
        assert "43 random characters (256 random bits)" in row, page
