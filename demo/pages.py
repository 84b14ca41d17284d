"""The demo's pages: sign up, ask for a reset, read the outbox, reset, sign in.

Server-rendered HTML with a little JavaScript (served from /static, as the Content-Security-
Policy allows no inline script) that calls the library's JSON routes. The reset link carries
its token in the URL fragment, which browsers never send to a server: it stays out of access
logs and Referer headers. A person may ask for a code instead of a link, and type it with a
new password on ``/reset-code``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from html import escape

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from demo.outbox import Mail, Outbox
from demo.settings import (
    CODE_LENGTH,
    CODE_LIFETIME_SECONDS,
    CODE_MAX_ATTEMPTS,
    MIN_PASSWORD_LENGTH,
    PASSWORD_RULE,
    describe_code_limits,
    describe_interval,
    number_in_words,
)

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


def code_refused(max_attempts: int = CODE_MAX_ATTEMPTS) -> str:
    """What the code page says when the library refuses a code (400 RESET_PASSWORD_BAD_TOKEN)."""
    return (
        "That code is wrong, expired or used up; after "
        f"{number_in_words(max_attempts)} wrong {'try' if max_attempts == 1 else 'tries'} "
        'it stops working — <a href="/forgot">ask for a new one</a>.'
    )


@dataclass(frozen=True)
class CodeUrls:
    """Where the code router's routes are: its forgot-password and reset-password."""

    forgot: str
    reset: str


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


def _form(
    form_id: str,
    fields: str,
    button: str,
    *,
    hidden: bool = False,
    data: str = "",
    buttons: str = "",
) -> str:
    """A form and its message (a live region); ``buttons`` replaces the one ``button``."""
    submit = buttons or f'<button type="submit">{button}</button>'
    return (
        f'<form id="{form_id}" novalidate{" hidden" if hidden else ""}{data}>{fields}'
        f"{submit}</form>"
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


def _code_field(form_id: str, length: int, limits: str) -> str:
    """The code: digits on a phone's number pad, filled from an SMS or mail where the
    platform offers it; the shape is checked before a try is spent on a typo."""
    hint = f"{form_id}-code-hint"
    return (
        '<label>Code<input name="code" type="text" inputmode="numeric" required '
        'autocomplete="one-time-code" autocapitalize="off" spellcheck="false" class="code" '
        f'data-code-length="{length}" aria-describedby="{hint} {form_id}-message">'
        f'<span class="hint" id="{hint}">The {length} digits from the mail; '
        f"{escape(limits)}.</span></label>"
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
    outbox: Outbox,
    *,
    min_interval_seconds: float = 0,
    validate_url: str | None = None,
    code_urls: CodeUrls | None = None,
) -> APIRouter:
    """The pages; with ``validate_url``, the reset page checks its link there on load; with
    ``code_urls``, the forgot page offers a code instead, typed on ``/reset-code``."""
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    async def sign_up() -> HTMLResponse:
        fields = _field("register", "email", "E-mail", "email", "email") + _field(
            "register", "password", "Password", "password", "new-password"
        )
        return page("Create an account", _form("register", fields, "Create account"), "/")

    @router.get("/forgot")
    async def forgot() -> HTMLResponse:
        email = _field("forgot", "email", "E-mail", "email", "email")
        throttle = (
            f'<p class="hint" id="throttle">{escape(describe_interval(min_interval_seconds))}</p>'
        )
        if code_urls is None:
            body = "<p>We will mail you a link to choose a new password.</p>" + _form(
                "forgot", email, "Send reset link"
            )
            return page("Forgot your password?", body + throttle, "/forgot")
        # Two ways, one form: each button names the route it posts to. Enter sends the link.
        buttons = (
            '<div class="buttons"><button type="submit" data-url="/auth/forgot-password">'
            "Send reset link</button>"
            f'<button type="submit" class="secondary" data-url="{escape(code_urls.forgot)}" '
            'data-sends="code">Send me a code instead</button></div>'
        )
        body = (
            "<p>We will mail you a link to choose a new password, or, if you prefer, a code "
            "to type here (handy when the mail is on another device).</p>"
            + _form("forgot", email, "", buttons=buttons)
            + throttle
            + '<p>Have a code already? <a href="/reset-code">Enter your code</a>.</p>'
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

    if code_urls is not None:

        @router.get("/reset-code")
        async def reset_code() -> HTMLResponse:
            limits = describe_code_limits(CODE_LIFETIME_SECONDS, CODE_MAX_ATTEMPTS)
            fields = (
                _field("reset-code", "email", "E-mail", "email", "email")
                + _code_field("reset-code", CODE_LENGTH, limits)
                + _field("reset-code", "password", "New password", "password", "new-password")
            )
            body = (
                "<p>Type the code from the mail, the address it was sent to, and a new "
                'password. No code yet? <a href="/forgot">Ask for one</a>.</p>'
                + _form(
                    "reset-code",
                    fields,
                    "Set password",
                    data=f' data-url="{escape(code_urls.reset)}"',
                )
                # The script shows this in the form's message when a code is refused.
                + f'<template id="reset-code-refused">{code_refused()}</template>'
            )
            return page("Enter your code", body)

    @router.get("/signin")
    async def sign_in() -> HTMLResponse:
        fields = _field("signin", "username", "E-mail", "email", "username") + _field(
            "signin", "password", "Password", "password", "current-password"
        )
        return page("Sign in", _form("signin", fields, "Sign in"), "/signin")

    return router
