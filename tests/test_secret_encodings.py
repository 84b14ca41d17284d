"""No password or token reaches a log in any encoding code commonly writes it in.

Generated passwords (control characters, quotes, backslashes, NUL, U+0085, non-ASCII) are
quoted by failing parts of the application in each encoding: raw, ``repr``, ``ascii``, JSON
(ASCII and not), ``unicode_escape``, URL-encoded, the ``repr`` of the UTF-8 bytes, and the
``repr`` of a ``repr``. Every route with each injected failure; no encoding may be logged.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, quote_plus

import anyio
import pytest
from fastapi import Request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastapi_password_reset.db import InMemoryUserDatabase
from fastapi_password_reset.tokens import JWTResetTokenStrategy
from tests.conftest import PASSWORD, SECRET, UserDB, open_harness


def encodings(secret: str) -> dict[str, str]:
    """How a careless message may write ``secret``; the test's own list, not the library's."""
    return {
        "raw": secret,
        "repr": repr(secret),
        "ascii": ascii(secret),
        "json": json.dumps(secret),
        "json-utf8": json.dumps(secret, ensure_ascii=False),
        "unicode_escape": secret.encode("unicode_escape").decode("ascii"),
        "url": quote(secret, safe=""),
        "url-plus": quote_plus(secret),
        "bytes": repr(secret.encode("utf-8")),
        "repr-of-repr": repr(repr(secret)),
    }


def all_encodings(secret: str) -> str:
    return " | ".join(encodings(secret).values())


def inner(form: str) -> str:
    """A form without the quotes around it: what identifies the secret."""
    return form[1:-1] if form[:1] in "'\"" else form[2:-1] if form[:2] == "b'" else form


# Passwords with the characters that escapes change: every category but lone surrogates
# (which JSON bodies cannot carry into a password: refused with a 422).
PASSWORDS = st.text(alphabet=st.characters(exclude_categories=["Cs"]), min_size=1, max_size=24).map(
    lambda text: text + "-" + uuid.uuid4().hex[:6]
)  # never a coincidental substring

FAILURES = ["policy", "database-write", "forgot-hook", "reset-hook", "register-policy"]


class _Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(logging.Formatter().format(record) + repr(record.args))


async def _run(failure: str, password: str) -> tuple[list[str], list[str]]:
    """Drive the routes with one part failing while it quotes the secrets; the log lines and
    the secrets (password, token, hashes)."""
    secrets = [password]
    db = InMemoryUserDatabase(UserDB)

    def policy(candidate: str, user: Any) -> None:
        if failure in {"policy", "register-policy"}:
            raise ValueError(f"refusing {all_encodings(candidate)}")

    async def failing_write(id: Any, old_hash: str, new_hash: str) -> bool:
        raise RuntimeError(f"write failed: {all_encodings(new_hash)} {all_encodings(old_hash)}")

    if failure == "database-write":
        db.replace_password_hash = failing_write  # type: ignore[method-assign]
    strategy = JWTResetTokenStrategy()
    async with open_harness(strategy, db, validate_password=policy) as harness:

        def forgot_hook(user: UserDB, token: str, request: Request) -> None:
            secrets.append(token)
            raise RuntimeError(f"mail failed: {all_encodings(token)}")

        def reset_hook(user: UserDB, request: Request) -> None:
            raise RuntimeError(f"notice failed: {all_encodings(password)}")

        harness.app.include_router(
            harness.users.get_reset_password_router(
                SECRET,
                3600,
                forgot_hook if failure == "forgot-hook" else None,
                reset_hook if failure == "reset-hook" else None,
            ),
            prefix="/hooked",
        )
        user = await harness.add_user()
        secrets.append(user.hashed_password)
        token = await harness.users.get_reset_password_service(SECRET).issue_token(user)
        secrets.append(token)
        if failure == "register-policy":
            await harness.client.post(
                "/auth/register", json={"email": "bob@example.com", "password": password}
            )
        elif failure == "forgot-hook":
            await harness.client.post("/hooked/forgot-password", json={"email": user.email})
        else:
            await harness.client.post(
                "/hooked/reset-password", json={"token": token, "password": password}
            )
        await harness.users.background.drain()
        stored = await db.get(user.id)
        assert stored is not None
        secrets.append(stored.hashed_password)
    return secrets, []


@pytest.mark.parametrize("failure", FAILURES)
def test_no_encoding_of_a_secret_is_logged(failure: str) -> None:
    """Property: for every generated password, no encoding of it, of the token or of a hash
    appears in any log line, through every route with each failing part."""
    handler = _Captured()
    logger = logging.getLogger("fastapi_password_reset")
    checked: list[int] = []

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(password=PASSWORDS)
    def run(password: str) -> None:
        handler.lines.clear()
        secrets, _ = anyio.run(_run, failure, password)
        logged = "\n".join(handler.lines)
        assert "failed" in logged or "refusing" in logged, "the failure must have been logged"
        for secret in secrets:
            for name, form in encodings(secret).items():
                assert inner(form) not in logged, f"{name} form of a secret was logged"
        checked.append(1)

    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        run()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
    assert len(checked) >= 20


def test_the_encodings_checked_are_all_different_for_an_awkward_password() -> None:
    """The property test is not vacuous: for such a password each encoding is its own text."""
    forms: Callable[[str], dict[str, str]] = encodings
    awkward = "tab\there\nnul\x00nel\x85quote'dq\"bs\\é€😀 sp/sl"
    assert len({inner(form) for form in forms(awkward).values()}) == len(forms(awkward))
    assert PASSWORD not in awkward
