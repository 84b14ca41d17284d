"""The demo's pages: sign up, ask for a reset, read the outbox, reset, sign in.

Server-rendered HTML with a little JavaScript (served from /static, as the Content-Security-
Policy allows no inline script) that calls the library's JSON routes. The reset link carries
its token in the URL fragment, which browsers never send to a server: it stays out of access
logs and Referer headers.
"""

from __future__ import annotations

from datetime import UTC
from html import escape

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from demo.outbox import Mail, Outbox
from demo.settings import MIN_PASSWORD_LENGTH, PASSWORD_RULE, describe_interval

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}

NAV = [("/", "Sign up"), ("/forgot", "Forgot password"), ("/outbox", "Outbox"),
       ("/signin", "Sign in")]  # fmt: skip

NO_LINK = (
    "This page needs the link from a reset mail. "
    '<a href="/forgot">Ask for a reset link</a>, then open it from the '
    '<a href="/outbox">outbox</a>.'
)
USED_LINK = (
    "This reset link is invalid, has expired or was already used. "
    '<a href="/forgot">Ask for a new one</a>.'
)


def nav(current: str | None) -> str:
    return "".join(
        f'<a href="{href}" aria-current="page">{label}</a>'
        if href == current
        else f'<a href="{href}">{label}</a>'
        for href, label in NAV
    )


def page(title: str, body: str, current: str | None = None) -> HTMLResponse:
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · fastapi-password-reset demo</title>
<link rel="icon" href="/favicon.ico">
<link rel="stylesheet" href="/static/demo.css"></head>
<body><header><strong>fastapi-password-reset demo</strong>
<nav aria-label="Demo pages">{nav(current)}</nav></header>
<main><h1>{escape(title)}</h1>{body}</main>
<script src="/static/demo.js"></script></body></html>"""
    return HTMLResponse(html, headers=SECURITY_HEADERS)


def _form(form_id: str, fields: str, button: str, *, hidden: bool = False, data: str = "") -> str:
    return (
        f'<form id="{form_id}" novalidate{" hidden" if hidden else ""}{data}>{fields}'
        f'<button type="submit">{button}</button></form>'
        f'<p class="message" id="{form_id}-message" role="status" aria-live="polite"></p>'
    )


def _field(form_id: str, name: str, label: str, kind: str, autocomplete: str) -> str:
    described = f"{form_id}-message"
    extra = ""
    rule = ""
    if autocomplete == "new-password":
        # The rule is shown from the start, not only after a refused password.
        described = f"{form_id}-password-rule {described}"
        extra = f' minlength="{MIN_PASSWORD_LENGTH}"'
        rule = f'<span class="hint" id="{form_id}-password-rule">{escape(PASSWORD_RULE)}</span>'
    return (
        f'<label>{label}<input name="{name}" type="{kind}" required{extra} '
        f'autocomplete="{autocomplete}" aria-describedby="{described}">{rule}</label>'
    )


def _paragraphs(text: str) -> str:
    return "".join(f"<p>{escape(part)}</p>" for part in text.split("\n\n"))


def _mail(mail: Mail) -> str:
    sent = mail.sent_at.astimezone(UTC)
    link = (
        f'<p><a class="reset-link" href="{escape(mail.link)}">Choose a new password</a></p>'
        if mail.link
        else ""
    )
    return (
        f"<li><article><p><strong>To:</strong> {escape(mail.to)} · "
        f'<time datetime="{sent.isoformat(timespec="seconds")}">{mail.sent_at_utc}</time></p>'
        f"<h2>{escape(mail.subject)}</h2>{_paragraphs(mail.body)}{link}</article></li>"
    )


def build_pages(
    outbox: Outbox, *, min_interval_seconds: float = 0, validate_url: str | None = None
) -> APIRouter:
    """The pages; with ``validate_url``, the reset page checks its link there on load."""
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    async def sign_up() -> HTMLResponse:
        fields = _field("register", "email", "E-mail", "email", "email") + _field(
            "register", "password", "Password", "password", "new-password"
        )
        return page("Create an account", _form("register", fields, "Create account"), "/")

    @router.get("/forgot")
    async def forgot() -> HTMLResponse:
        body = (
            "<p>We will mail you a link to choose a new password.</p>"
            + _form(
                "forgot", _field("forgot", "email", "E-mail", "email", "email"), "Send reset link"
            )
            + f'<p class="hint" id="throttle">{escape(describe_interval(min_interval_seconds))}</p>'
        )
        return page("Forgot your password?", body, "/forgot")

    @router.get("/outbox")
    async def show_outbox() -> HTMLResponse:
        if not outbox.mails:
            return page("Outbox", "<p>No mail has been sent yet.</p>", "/outbox")
        items = "".join(_mail(mail) for mail in reversed(outbox.mails))
        intro = "<p>The mails the application has sent, newest first (times in UTC).</p>"
        return page("Outbox", f'{intro}<ol class="outbox">{items}</ol>', "/outbox")

    @router.get("/reset")
    async def reset() -> HTMLResponse:
        # The script shows the form when the page has a token (from the link's fragment, or
        # kept in sessionStorage across a reload), and a notice when it has none or the
        # token is refused.
        fields = _field("reset", "password", "New password", "password", "new-password")
        data = f' data-validate-url="{escape(validate_url)}"' if validate_url else ""
        body = (
            f'<p class="notice" id="reset-no-link" hidden>{NO_LINK}</p>'
            f'<p class="notice" id="reset-used-link" hidden>{USED_LINK}</p>'
            + _form("reset", fields, "Set password", hidden=True, data=data)
            + "<noscript><p>This page needs JavaScript to read the link's token.</p></noscript>"
        )
        return page("Choose a new password", body)

    @router.get("/signin")
    async def sign_in() -> HTMLResponse:
        fields = _field("signin", "username", "E-mail", "email", "username") + _field(
            "signin", "password", "Password", "password", "current-password"
        )
        return page("Sign in", _form("signin", fields, "Sign in"), "/signin")

    return router
