"""Keeping tokens, passwords and password hashes out of logs and tracebacks.

Exception messages are written by other code (a mailer, a database driver quoting its
parameters, a hook formatting a user model) and may quote a secret. Each request collects the
secrets it has seen (the submitted password or token, the hashes it loaded or made); every
traceback the library logs has them replaced, while the rest stays for debugging.
"""

from __future__ import annotations

import traceback
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

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
    """``text`` with the given secrets and the current context's replaced."""
    # Longest first, so that a secret containing another is replaced whole.
    for secret in sorted({*secrets, *(_seen.get() or ())}, key=len, reverse=True):
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def redacted_traceback(exc: BaseException, secrets: Iterable[str] = ()) -> str:
    """The exception's traceback, chained causes included, with every known secret replaced."""
    return redact("".join(traceback.format_exception(exc)), secrets)


async def with_secrets(
    secrets: Iterable[str], job: Callable[..., Awaitable[object]], *args: object
) -> None:
    """Run ``job(*args)`` redacting ``secrets``: for work that outlives its request."""
    with collecting_secrets(*secrets):
        await job(*args)
