"""The demo's pages: sign up, ask for a reset, read the outbox, reset, sign in.

Server-rendered HTML with a little JavaScript (served from /static, as the Content-Security-
Policy allows no inline script) that calls the library's JSON routes. The reset link carries
its token in the URL fragment, which browsers never send to a server: it stays out of access
logs and Referer headers.
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from demo.outbox import Outbox

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}

_NAV = [("/", "Sign up"), ("/forgot", "Forgot password"), ("/outbox", "Outbox"),
        ("/signin", "Sign in")]  # fmt: skip


def page(title: str, body: str) -> HTMLResponse:
    links = " ".join(f'<a href="{href}">{label}</a>' for href, label in _NAV)
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · fastapi-password-reset demo</title>
<link rel="stylesheet" href="/static/demo.css"></head>
<body><header><strong>fastapi-password-reset demo</strong><nav>{links}</nav></header>
<main><h1>{escape(title)}</h1>{body}</main>
<script src="/static/demo.js"></script></body></html>"""
    return HTMLResponse(html, headers=SECURITY_HEADERS)


def _form(form_id: str, fields: str, button: str) -> str:
    return (
        f'<form id="{form_id}">{fields}<button type="submit">{button}</button></form>'
        '<p class="message" role="status" aria-live="polite"></p>'
    )


def _field(name: str, label: str, kind: str, autocomplete: str) -> str:
    return (
        f'<label>{label}<input name="{name}" type="{kind}" required '
        f'autocomplete="{autocomplete}"></label>'
    )


def build_pages(outbox: Outbox) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    async def sign_up() -> HTMLResponse:
        fields = _field("email", "E-mail", "email", "email") + _field(
            "password", "Password", "password", "new-password"
        )
        return page("Create an account", _form("register", fields, "Create account"))

    @router.get("/forgot")
    async def forgot() -> HTMLResponse:
        body = "<p>We will mail you a link to choose a new password.</p>" + _form(
            "forgot", _field("email", "E-mail", "email", "email"), "Send reset link"
        )
        return page("Forgot your password?", body)

    @router.get("/outbox")
    async def show_outbox() -> HTMLResponse:
        if not outbox.mails:
            return page("Outbox", "<p>No mail has been sent yet.</p>")
        items = "".join(
            f"<li><article><p><strong>To:</strong> {escape(mail.to)} · "
            f"<time>{mail.sent_at:%H:%M:%S}</time></p><h2>{escape(mail.subject)}</h2>"
            f"<p>{escape(mail.body)}</p>"
            + (f'<p><a class="reset-link" href="{escape(mail.link)}">Choose a new password</a></p>'
               if mail.link else "")
            + "</article></li>"
            for mail in reversed(outbox.mails)
        )  # fmt: skip
        intro = "<p>The mails the application has sent, newest first.</p>"
        return page("Outbox", f'{intro}<ol class="outbox">{items}</ol>')

    @router.get("/reset")
    async def reset() -> HTMLResponse:
        fields = _field("password", "New password", "password", "new-password")
        return page("Choose a new password", _form("reset", fields, "Set password"))

    @router.get("/signin")
    async def sign_in() -> HTMLResponse:
        fields = _field("username", "E-mail", "email", "username") + _field(
            "password", "Password", "password", "current-password"
        )
        return page("Sign in", _form("signin", fields, "Sign in"))

    return router
