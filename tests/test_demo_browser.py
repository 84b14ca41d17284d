"""A person's walk through the demo in headless Chromium, with screenshots for the docs.

Set DEMO_SCREENSHOTS to a directory (``make screenshots`` uses docs/img) to keep them.
"""

from __future__ import annotations

import os
import re
import shutil
import time
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


def open_outbox(page: Page, newest: str) -> None:
    """The outbox, once its newest mail contains ``newest``: mails are sent after the answer,
    so the page is reloaded until the mail is there (a busy machine may take a moment)."""
    deadline = time.monotonic() + 15
    while True:
        page.goto("/outbox")
        mails = page.locator("article")
        if mails.count() and newest in mails.first.inner_text():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"no mail containing {newest!r} in the outbox")
        page.wait_for_timeout(200)


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

    open_outbox(page, "reset")
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

    open_outbox(page, "Your password was changed")
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


def test_a_person_resets_a_password_with_a_code(
    browser: Browser, demo_server: DemoServer, shots: Path
) -> None:
    """Forgot, "Send me a code instead", the mail read in another tab, a typo, a refused
    address, an unavailable store, a wrong code, the right one, sign in."""
    context = browser.new_context(base_url=demo_server.url, viewport=DESKTOP)
    page = context.new_page()
    failed = FailedLoads(page)
    status = page.locator(".message")
    email = "grace@example.com"
    page.goto("/")
    submit(page, {"email": email, "password": "first passphrase"}, "Create account")
    expect(status).to_have_text(f"Account created for {email}.")

    page.goto("/forgot")
    page.fill("input[name=email]", email)
    with page.expect_request("**/auth/code/forgot-password") as asked:
        page.get_by_role("button", name="Send me a code instead").click()
    assert asked.value.post_data_json == {"email": email}
    expect(status).to_have_text(
        "If an account exists for this address, a code is on its way. "
        "Check the outbox, then enter the code."
    )

    # The person reads the mail in another tab: a code, and no link to follow.
    mail_tab = context.new_page()
    open_outbox(mail_tab, "Your password reset code")
    mail = mail_tab.locator("article").first
    expect(mail).to_contain_text("Your password reset code")
    expect(mail).to_contain_text("(it works for 15 minutes, and for five tries)")
    expect(mail.locator("a")).to_have_count(0)
    found = re.search(r"Your code is (\d{4} \d{4}) ", mail.inner_text())
    assert found is not None
    code = found.group(1)  # as the mail shows it: "4821 3906"
    mail_tab.close()

    status.get_by_role("link", name="enter the code").click()
    expect(page).to_have_url(re.compile(r"/reset-code$"))
    expect(page.locator("nav a[aria-current]")).to_have_count(0)
    form = page.locator("form#reset-code")
    address, typed = form.locator("input[name=email]"), form.locator("input[name=code]")
    password = form.locator("input[name=password]")
    expect(address).to_have_value(email)  # kept from the forgot page, in this tab
    expect(typed).to_have_attribute("autocomplete", "one-time-code")
    expect(typed).to_have_attribute("inputmode", "numeric")
    expect(page.get_by_label("Code")).to_have_attribute("name", "code")
    expect(page.get_by_text("At least 8 characters")).to_be_visible()  # before any submit
    tries: list[object] = []
    page.on(
        "request",
        lambda request: (
            tries.append(request.post_data_json)
            if request.url.endswith("/auth/code/reset-password")
            else None
        ),
    )

    # A digit short: told at once, and no try spent on it.
    submit(page, {"code": code[:-1], "password": "second passphrase"}, "Set password")
    expect(status).to_have_text("Code: type the 8 digits from the mail.")
    expect(typed).to_have_attribute("aria-invalid", "true")
    expect(typed).to_be_focused()
    assert tries == []

    # An address the server refuses (422): the address is marked, the code untouched.
    submit(page, {"email": "grace@example", "code": code}, "Set password")
    expect(status).to_contain_text("Please check the form:")
    expect(address).to_have_attribute("aria-invalid", "true")
    expect(typed).not_to_have_attribute("aria-invalid", "true")
    page.fill("input[name=email]", email)

    # The store unreachable (503, simulated): said plainly, nothing marked.
    def unavailable(route: Route) -> None:
        detail = {"detail": "RESET_PASSWORD_TOKEN_STORE_UNAVAILABLE"}
        route.fulfill(status=503, json=detail)

    page.route("**/auth/code/reset-password", unavailable)
    page.get_by_role("button", name="Set password").click()
    expect(status).to_have_text("The service is briefly unavailable. Please try again.")
    expect(page.locator("input[aria-invalid=true]")).to_have_count(0)
    page.unroute("**/auth/code/reset-password", unavailable)

    # A wrong code (400): the page's own words, the code field marked, a way to a new code.
    wrong = "1111 1111" if code != "1111 1111" else "2222 2222"
    submit(page, {"code": wrong}, "Set password")
    expect(status).to_have_text(
        "That code is wrong, expired or used up; after five wrong tries it stops working "
        "— ask for a new one."
    )
    expect(status.get_by_role("link", name="ask for a new one")).to_have_attribute(
        "href", "/forgot"
    )
    expect(typed).to_have_attribute("aria-invalid", "true")
    expect(typed).to_be_focused()
    expect(password).not_to_have_attribute("aria-invalid", "true")
    page.screenshot(path=str(shots / "demo-code.png"))

    # The right code, typed as the mail shows it, with its space.
    page.fill("input[name=code]", code)
    expect(typed).not_to_have_attribute("aria-invalid", "true")  # typing clears the mark
    page.get_by_role("button", name="Set password").click()
    expect(status).to_have_text("Your password has been changed. You can sign in now.")
    expect(form).to_be_hidden()
    assert [body for body in tries if body] == [
        {"email": "grace@example", "token": code.replace(" ", ""), "password": "second passphrase"},
        {"email": email, "token": code.replace(" ", ""), "password": "second passphrase"},
        {"email": email, "token": wrong.replace(" ", ""), "password": "second passphrase"},
        {"email": email, "token": code.replace(" ", ""), "password": "second passphrase"},
    ]

    status.get_by_role("link", name="sign in now").click()
    expect(page).to_have_url(re.compile(r"/signin$"))
    submit(page, {"username": email, "password": "second passphrase"}, "Sign in")
    expect(status).to_have_text(f"Signed in as {email}.")

    open_outbox(page, "through a reset code")
    expect(page.locator("article").first).to_contain_text("through a reset code")
    page.goto("/reset-code")  # the address was forgotten with the code
    expect(page.locator("input[name=email]")).to_have_value("")
    assert failed.failed == []
    context.close()


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
    for path in ("/", "/forgot", "/outbox", "/signin", "/reset", "/reset-code"):
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
