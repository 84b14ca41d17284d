"""Keeping tokens, passwords and password hashes out of logs and tracebacks.

Exception messages are written by other code (a mailer, a database driver quoting its
parameters, a hook formatting a user model) and may quote a secret. Each request collects the
secrets it has seen (the submitted password or token, the hashes it loaded or made); every
traceback the library logs has them replaced, while the rest stays for debugging.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"

_seen: ContextVar[list[str] | None] = ContextVar("fastapi_password_reset_secrets", default=None)


@contextmanager
def collecting_secrets(*known: str | None) -> Iterator[list[str]]:
    """Collect the secrets remembered in this context (a request, a background job).

    Inside a context that already collects, that one goes on (with ``known`` added), so a
    service called from a route redacts what the route has seen, and a service called from
    application code still gets a context of its own.
    """
    collected = _seen.get()
    if collected is not None:
        remember_secret(*known)
        yield collected
        return
    collected = [secret for secret in known if secret]
    reset = _seen.set(collected)
    try:
        yield collected
    finally:
        _seen.reset(reset)


def seen_secrets() -> tuple[str, ...]:
    """The current context's secrets, to hand to work that runs after the context ends."""
    return tuple(_seen.get() or ())


def remember_secret(*values: str | None) -> None:
    """Add values to the current context's secrets; outside any context, do nothing.

    Tasks and worker threads started from the context share its list, so a secret seen there
    is redacted here too.
    """
    collected = _seen.get()
    if collected is not None:
        collected.extend(value for value in values if value)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with the given secrets and the current context's replaced, in every form in
    which code commonly writes a string (see `written_forms`)."""
    forms = {form for secret in {*secrets, *(_seen.get() or ())} for form in written_forms(secret)}
    # Longest first, so that a secret containing another is replaced whole.
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, REDACTED)
    return text


def written_forms(secret: str) -> frozenset[str]:
    """The ways a message may spell ``secret``: as it is, inside ``repr`` and ``ascii``, JSON
    (ASCII-only and not), ``unicode_escape``, URL-encoded (``quote``, ``quote_plus``), the
    ``repr`` of its UTF-8 bytes; and the ``repr`` and JSON of each of those, for a message
    quoted once more (an exception's ``repr`` inside a log line, a JSON log of a traceback).

    Why this is enough for the formats code writes by itself: each is a function of the
    string alone, so each is listed here; a message that transforms the secret otherwise (a
    hash of it, a slice) is not a copy of it.
    """
    if not secret:
        return frozenset()
    quoted = {
        repr(secret),
        ascii(secret),
        json.dumps(secret),
        json.dumps(secret, ensure_ascii=False),
        repr(secret.encode("utf-8", "surrogatepass")),
    }
    once = {
        secret,
        *(form[2:-1] if form.startswith("b") else form[1:-1] for form in quoted),
        secret.encode("unicode_escape").decode("ascii"),
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret, safe=""),
    }
    # Quoted again with the quotes of the first quoting (which may change how the second one
    # escapes), and without them.
    twice = {
        again
        for form in once | quoted
        for again in (repr(form)[1:-1], ascii(form)[1:-1], json.dumps(form)[1:-1])
    }
    return frozenset(form for form in once | twice if form)


def redacted_traceback(exc: BaseException, secrets: Iterable[str] = ()) -> str:
    """The exception's traceback, chained causes included, with every known secret replaced."""
    return redact("".join(traceback.format_exception(exc)), secrets)


async def with_secrets(
    secrets: Iterable[str], job: Callable[..., Awaitable[object]], *args: object
) -> None:
    """Run ``job(*args)`` redacting ``secrets``: for work that outlives its request."""
    with collecting_secrets(*secrets):
        await job(*args)
