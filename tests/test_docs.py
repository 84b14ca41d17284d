"""Every Python excerpt in docs/ runs, and the site builds in strict mode (the complete
programs run as their pages say: tests/test_doc_programs.py)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SECRET
from tests.doc_programs import EXCERPT, FASTAPI_USERS_PAGE, ROOT, blocks, run_in_order
from tests.redis_servers import RedisServer

PAGES = sorted((ROOT / "docs").glob("*.md"))
EXCERPT_PAGES = [
    page
    for page in PAGES
    if page != FASTAPI_USERS_PAGE and any(block.title == EXCERPT for block in blocks(page))
]


def test_there_are_excerpts_to_run() -> None:
    """The pages hold excerpts, so the test below is not vacuous."""
    assert sum(block.title == EXCERPT for page in EXCERPT_PAGES for block in blocks(page)) >= 8


@pytest.mark.parametrize("page", EXCERPT_PAGES, ids=lambda p: p.name)
def test_each_pages_excerpts_run_in_order(
    page: Path, monkeypatch: pytest.MonkeyPatch, redis_server: RedisServer
) -> None:
    """A page's blocks run top to bottom, after the quickstart's application, in one namespace."""
    monkeypatch.setenv("SECRET", SECRET)
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    run_in_order(page)


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
    # A block's title (pymdownx.highlight and superfences) names its program, or says it is
    # an excerpt.
    quickstart = (tmp_path / "site" / "quickstart" / "index.html").read_text()
    assert '<span class="filename">app.py</span>' in quickstart
    hooks = (tmp_path / "site" / "hooks" / "index.html").read_text()
    assert f'<span class="filename">{EXCERPT}</span>' in hooks


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
