"""A person's walk through the demo in headless Chromium, with screenshots for the docs.

Set DEMO_SCREENSHOTS to a directory (``make screenshots`` uses docs/img) to keep them.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    Page,
    Response,
    Route,
    ViewportSize,
    expect,
    sync_playwright,
)

from tests.servers import free_port, port_open, wait_until
from tests.test_demo import DemoServer

CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
DESKTOP = ViewportSize(width=900, height=640)
PHONE = ViewportSize(width=375, height=667)  # an iPhone SE's width


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


class FailedLoads:
    """Every GET the page made that did not succeed: a missing favicon, script or style."""

    def __init__(self, page: Page) -> None:
        self.failed: list[str] = []
        page.on("response", self._response)
        page.on("requestfailed", lambda request: self.failed.append(f"failed {request.url}"))

    def _response(self, response: Response) -> None:
        if response.request.method == "GET" and response.status >= 400:
            self.failed.append(f"{response.status} {response.url}")


def submit(page: Page, values: dict[str, str], button: str) -> None:
    for name, value in values.items():
        page.fill(f"input[name={name}]", value)
    page.get_by_role("button", name=button).click()


def checks_links_on_load(page: Page) -> bool:
    """Whether the reset page checks its link on load: the library has a validate route."""
    return page.locator("form#reset").get_attribute("data-validate-url") is not None


def sign_up_and_ask(page: Page, email: str, password: str) -> None:
    page.goto("/")
    submit(page, {"email": email, "password": password}, "Create account")
    expect(page.locator(".message")).to_have_text(f"Account created for {email}.")
    page.goto("/forgot")
    submit(page, {"email": email}, "Send reset link")
    expect(page.locator(".message")).to_contain_text("a reset link is on its way")


def test_a_person_resets_a_password_through_the_pages(
    browser: Browser, demo_server: DemoServer, shots: Path
) -> None:
    """Sign up, forgot, outbox, reload, a refused password, a good one, sign in; used links."""
    page = browser.new_page(base_url=demo_server.url, viewport=DESKTOP)
    failed = FailedLoads(page)
    status = page.locator(".message")
    email = "ada@example.com"
    password = page.locator("input[name=password]")

    sign_up_and_ask(page, email, "first passphrase")
    expect(page.locator("nav a[aria-current=page]")).to_have_text("Forgot password")
    page.screenshot(path=str(shots / "demo-forgot.png"))

    page.goto("/outbox")
    expect(page.locator("nav a[aria-current=page]")).to_have_text("Outbox")
    link = page.locator("a.reset-link").first
    expect(link).to_be_visible()
    expect(page.locator("time").first).to_contain_text(" UTC")
    page.screenshot(path=str(shots / "demo-outbox.png"))
    link.click()
    # The page takes the token from the fragment, then removes it from the address bar...
    expect(page).to_have_url(re.compile(r"/reset$"))
    expect(page.locator("nav a[aria-current]")).to_have_count(0)
    # ...and keeps it for this tab: a reload still has it.
    page.reload()
    expect(page).to_have_url(re.compile(r"/reset$"))
    expect(page.locator("form#reset")).to_be_visible()
    expect(page.get_by_text("At least 8 characters")).to_be_visible()  # before any submit
    expect(password).not_to_have_attribute("aria-invalid", "true")

    submit(page, {"password": "ada lovelace 1815"}, "Set password")
    expect(status).to_contain_text("should not contain the part of your e-mail address")
    expect(password).to_have_attribute("aria-invalid", "true")
    page.screenshot(path=str(shots / "demo-refused.png"))
    page.fill("input[name=password]", "second passphrase")
    expect(password).not_to_have_attribute("aria-invalid", "true")  # typing clears the mark
    page.get_by_role("button", name="Set password").click()
    expect(status).to_have_text("Your password has been changed. You can sign in now.")
    expect(page.locator("form#reset")).to_be_hidden()
    page.screenshot(path=str(shots / "demo-reset.png"))
    page.reload()  # the token was used and forgotten
    expect(page.locator("#reset-no-link")).to_be_visible()

    page.goto("/signin")
    submit(page, {"username": email, "password": "first passphrase"}, "Sign in")
    expect(status).to_have_text("Wrong e-mail or password.")
    expect(page.locator("input[aria-invalid=true]")).to_have_count(2)
    submit(page, {"username": email, "password": "second passphrase"}, "Sign in")
    expect(status).to_have_text(f"Signed in as {email}.")
    expect(page.locator("input[aria-invalid=true]")).to_have_count(0)
    page.screenshot(path=str(shots / "demo-signin.png"))

    page.goto("/outbox")
    expect(page.locator("article").first).to_contain_text("Your password was changed")
    page.locator("a.reset-link").first.click()  # the used link again
    expect(page).to_have_url(re.compile(r"/reset$"))
    used = page.locator("#reset-used-link")
    if not checks_links_on_load(page):  # else told on load, before a password is typed
        submit(page, {"password": "third passphrase"}, "Set password")
    expect(used).to_be_visible()
    expect(used).to_contain_text("invalid, has expired or was already used")
    expect(page.locator("form#reset")).to_be_hidden()
    expect(used.get_by_role("link", name="Ask for a new one")).to_have_attribute("href", "/forgot")
    page.screenshot(path=str(shots / "demo-bad-link.png"))

    # A link pasted into this tab changes only the fragment: the page takes the new token.
    if checks_links_on_load(page):
        with page.expect_request("**/auth/reset-password/validate") as checked:
            page.goto("/reset#token=forged.token")
        assert checked.value.post_data_json == {"token": "forged.token"}
    else:
        page.goto("/reset#token=forged.token")
        expect(used).to_be_hidden()
        submit(page, {"password": "third passphrase"}, "Set password")
    expect(page).to_have_url(re.compile(r"/reset$"))
    expect(used).to_be_visible()
    expect(page.locator("form#reset")).to_be_hidden()
    assert failed.failed == []
    page.close()


def test_the_reset_page_without_a_link_says_so(
    browser: Browser, demo_server: DemoServer, shots: Path
) -> None:
    """Opened by hand (or in a new tab), the reset page explains instead of showing a form."""
    page = browser.new_page(base_url=demo_server.url, viewport=DESKTOP)
    page.goto("/reset")
    notice = page.locator("#reset-no-link")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("This page needs the link from a reset mail.")
    expect(page.locator("form#reset")).to_be_hidden()
    expect(page.get_by_role("button", name="Set password")).to_be_hidden()
    page.screenshot(path=str(shots / "demo-no-link.png"))
    page.close()


def test_the_reset_page_checks_its_link_where_the_library_can(
    browser: Browser, demo_server: DemoServer
) -> None:
    """With data-validate-url (once the library has a validate route), a dead link is told
    on load, before a password is typed; a live one shows the form. The route is simulated."""
    page = browser.new_page(base_url=demo_server.url, viewport=DESKTOP)
    checked: list[str] = []

    def with_validate_url(route: Route) -> None:
        html = route.fetch().text()
        html = html.replace(
            '<form id="reset"', '<form id="reset" data-validate-url="/auth/reset-password/validate"'
        )
        route.fulfill(body=html, content_type="text/html; charset=utf-8")

    def validate(route: Route) -> None:
        token = (route.request.post_data_json or {}).get("token", "")
        checked.append(token)
        if token == "live.token":
            route.fulfill(status=200, json=None)
        else:
            route.fulfill(status=400, json={"detail": "RESET_PASSWORD_BAD_TOKEN"})

    page.route(re.compile(r"/reset$"), with_validate_url)
    page.route("**/auth/reset-password/validate", validate)

    page.goto("/reset#token=dead.token")
    expect(page.locator("#reset-used-link")).to_be_visible()
    expect(page.locator("form#reset")).to_be_hidden()
    page.reload()  # the dead token was forgotten
    expect(page.locator("#reset-no-link")).to_be_visible()

    page.goto("/reset#token=live.token")
    expect(page.locator("form#reset")).to_be_visible()
    assert checked == ["dead.token", "live.token"]
    page.close()


def test_sign_up_states_the_rule_and_marks_fields_in_error(
    browser: Browser, demo_server: DemoServer
) -> None:
    """The rule is visible at once; a too-short password and a taken address are marked."""
    page = browser.new_page(base_url=demo_server.url, viewport=DESKTOP)
    page.goto("/")
    expect(page.locator("nav a[aria-current=page]")).to_have_text("Sign up")
    rule = page.locator("#register-password-rule")
    expect(rule).to_be_visible()
    expect(rule).to_have_text(
        "At least 8 characters, without the part of your e-mail address before the @."
    )
    email, password = page.locator("input[name=email]"), page.locator("input[name=password]")
    expect(password).to_have_attribute("aria-describedby", re.compile("register-password-rule"))

    submit(page, {"email": "grace@example.com", "password": "short"}, "Create account")
    expect(page.locator(".message")).to_contain_text("Password:")
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(email).not_to_have_attribute("aria-invalid", "true")
    expect(password).to_be_focused()

    submit(page, {"password": "under pressure 42"}, "Create account")
    expect(page.locator(".message")).to_have_text("Account created for grace@example.com.")
    expect(page.locator("input[aria-invalid=true]")).to_have_count(0)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".message")).to_have_text("An account with this e-mail already exists.")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(password).not_to_have_attribute("aria-invalid", "true")

    page.fill("input[name=email]", "not an address")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".message")).to_contain_text("E-mail:")
    expect(email).to_have_attribute("aria-invalid", "true")
    page.close()


def test_the_nav_stays_on_one_line_on_a_phone(
    browser: Browser, demo_server: DemoServer, shots: Path
) -> None:
    """At 375 px wide every nav link sits on one row, and nothing scrolls sideways."""
    page = browser.new_page(base_url=demo_server.url, viewport=PHONE)
    for path in ("/", "/forgot", "/outbox", "/signin", "/reset"):
        page.goto(path)
        tops = page.locator("nav a").evaluate_all(
            "links => links.map((a) => Math.round(a.getBoundingClientRect().top))"
        )
        assert len(tops) == 4
        assert len(set(tops)) == 1, f"{path}: nav links on several rows ({tops})"
        nav_fits = page.locator("nav").evaluate("nav => nav.scrollWidth <= nav.clientWidth")
        assert nav_fits, f"{path}: the nav is wider than the screen"
        page_fits = page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
        assert page_fits, f"{path}: the page scrolls sideways"
    page.goto("/")
    page.screenshot(path=str(shots / "demo-phone.png"))
    page.close()


def test_the_api_docs_render_offline(
    browser: Browser, demo_server: DemoServer, shots: Path
) -> None:
    """/docs renders with every request blocked but those to the demo itself."""
    page = browser.new_page(base_url=demo_server.url, viewport=ViewportSize(width=900, height=800))
    failed = FailedLoads(page)
    elsewhere: list[str] = []

    def only_the_demo(route: Route) -> None:
        if urlsplit(route.request.url).netloc == urlsplit(demo_server.url).netloc:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_demo)
    page.goto("/docs")
    expect(page.get_by_text("/auth/forgot-password").first).to_be_visible()
    expect(page.get_by_text("/auth/reset-password").first).to_be_visible()
    expect(page.locator(".info")).to_contain_text("Redis")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(shots / "demo-docs.png"))
    assert elsewhere == []
    assert failed.failed == []
    page.close()
