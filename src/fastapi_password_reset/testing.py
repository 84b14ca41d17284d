"""Helpers for an application's own tests: catch the reset mails, wait for the work after a
response, with FastAPI's `TestClient` or with httpx.

The routes answer before they mail: the lookup, the token and the hook run after the
response, as jobs of ``fastapi_users.background``. A test that asserts "a mail was sent" right
after the request races those jobs. Wait for them first:

- with ``httpx.AsyncClient(transport=httpx.ASGITransport(app=app))``, in the test's own event
  loop: ``await settle(fastapi_users)``;
- with ``TestClient``, which runs the application in an event loop of its own in another
  thread: use it as a context manager (``with TestClient(app) as client:``), so that the loop
  outlives each request, and call ``settle_test_client(client, fastapi_users)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

__all__ = ["Outbox", "ResetMail", "settle", "settle_test_client"]

if TYPE_CHECKING:
    from starlette.testclient import TestClient

    from fastapi_password_reset.fastapi_users import FastAPIUsers


@dataclass(frozen=True)
class ResetMail:
    """One call of ``after_forgot_password``: to whom, and the token it carried."""

    email: str
    token: str
    user: Any


@dataclass
class Outbox:
    """Hooks that record instead of mailing, to pass to ``get_reset_password_router``.

    ``get_reset_password_router(SECRET, after_forgot_password=outbox.forgot_password,
    after_reset_password=outbox.password_reset,
    after_forgot_password_unknown=outbox.unknown_address)``.
    """

    mails: list[ResetMail] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    resets: list[Any] = field(default_factory=list)

    async def forgot_password(self, user: Any, token: str, request: Any) -> None:
        self.mails.append(ResetMail(user.email, token, user))

    async def unknown_address(self, email: str, request: Any) -> None:
        self.unknown.append(email)

    async def password_reset(self, user: Any, request: Any) -> None:
        self.resets.append(user)

    def token_for(self, email: str) -> str:
        """The token of the latest mail to ``email``; AssertionError if none was sent."""
        tokens = [mail.token for mail in self.mails if mail.email.lower() == email.lower()]
        assert tokens, (
            f"no reset mail to {email}: was the background work settled (see "
            "fastapi_password_reset.testing), the address known and active, and the user not "
            "throttled (min_interval_seconds)?"
        )
        return tokens[-1]


async def settle(fastapi_users: FastAPIUsers[Any]) -> None:
    """Wait, without a deadline, until every job started by earlier responses has ended."""
    await fastapi_users.background.drain(math.inf)


def settle_test_client(client: TestClient, fastapi_users: FastAPIUsers[Any]) -> None:
    """`settle` for a `TestClient` used as a context manager.

    Outside ``with TestClient(app) as client:``, each request gets an event loop that ends
    with it, and the work after the response ends with it, unfinished: no mail.
    """
    portal = getattr(client, "portal", None)
    if portal is None:
        raise RuntimeError(
            "use the TestClient as a context manager (with TestClient(app) as client: ...): "
            "without it, each request's event loop ends with the response and takes the work "
            "after the response (the reset mail) with it"
        )
    portal.call(settle, fastapi_users)
