"""A person's walk through the demo in headless Chromium, with screenshots for the docs.

Set DEMO_SCREENSHOTS to a directory (``make screenshots`` uses docs/img) to keep them.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.servers import free_port, port_open, wait_until
from tests.test_demo import DemoServer

CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise RuntimeError("chromium is not installed; `make test` installs it (apt-get)")
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[DemoServer]:
    server = DemoServer(free_port(), {}, tmp_path / "users.db")
    try:
        wait_until(lambda: port_open(server.port), 30, "the demo server")
        yield server
    finally:
        server.stop()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    directory = Path(os.environ.get("DEMO_SCREENSHOTS", tmp_path / "shots"))
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def submit(page: Page, values: dict[str, str], button: str) -> None:
    for name, value in values.items():
        page.fill(f"input[name={name}]", value)
    page.get_by_role("button", name=button).click()


def test_a_person_resets_a_password_through_the_pages(
    browser: Browser, demo_server: DemoServer, shots: Path
) -> None:
    """Sign up, forgot, outbox, a refused password, a good one, sign in; bad links explained."""
    page = browser.new_page(base_url=demo_server.url, viewport={"width": 900, "height": 640})
    status = page.locator(".message")
    email = "ada@example.com"

    page.goto("/")
    submit(page, {"email": email, "password": "first passphrase"}, "Create account")
    expect(status).to_have_text(f"Account created for {email}.")

    page.goto("/forgot")
    submit(page, {"email": email}, "Send reset link")
    expect(status).to_contain_text("a reset link is on its way")
    page.screenshot(path=str(shots / "demo-forgot.png"))

    page.goto("/outbox")
    link = page.locator("a.reset-link").first
    expect(link).to_be_visible()
    page.screenshot(path=str(shots / "demo-outbox.png"))
    link.click()
    # The page takes the token from the fragment, then removes it from the address bar.
    expect(page).to_have_url(re.compile(r"/reset$"))

    submit(page, {"password": "short"}, "Set password")
    expect(status).to_contain_text("at least 8 characters")
    page.screenshot(path=str(shots / "demo-refused.png"))
    submit(page, {"password": "second passphrase"}, "Set password")
    expect(status).to_have_text("Your password has been changed. You can sign in now.")
    page.screenshot(path=str(shots / "demo-reset.png"))

    page.goto("/signin")
    submit(page, {"username": email, "password": "first passphrase"}, "Sign in")
    expect(status).to_have_text("Wrong e-mail or password.")
    submit(page, {"username": email, "password": "second passphrase"}, "Sign in")
    expect(status).to_have_text(f"Signed in as {email}.")
    page.screenshot(path=str(shots / "demo-signin.png"))

    page.goto("/outbox")
    page.locator("a.reset-link").first.click()  # the used link again
    expect(page).to_have_url(re.compile(r"/reset$"))
    submit(page, {"password": "third passphrase"}, "Set password")
    expect(status).to_contain_text("invalid, has expired or was already used")
    page.screenshot(path=str(shots / "demo-bad-link.png"))

    page.goto("/reset#token=forged.token")
    submit(page, {"password": "third passphrase"}, "Set password")
    expect(status).to_contain_text("invalid, has expired or was already used")
    page.close()
