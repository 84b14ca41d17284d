"""Malformed requests get a 4xx, never a 5xx, echo nothing and change nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import PASSWORD, Harness

pytestmark = pytest.mark.anyio

MB = 1024 * 1024
SECRETISH = "s3cr3t-value-that-must-not-echo"


@dataclass(frozen=True)
class Bad:
    path: str
    body: bytes
    status: int
    content_type: str = "application/json"


def as_json(value: Any) -> bytes:
    return json.dumps(value).encode()


RESET = "/auth/reset-password"
FORGOT = "/auth/forgot-password"
VALIDATE = "/auth/reset-password/validate"
VALID_PASSWORD = "a perfectly fine passphrase"

CASES: dict[str, Bad] = {
    # /reset-password/validate
    "validate: empty body": Bad(VALIDATE, b"", 422),
    "validate: token missing": Bad(VALIDATE, as_json({"password": SECRETISH}), 422),
    "validate: token of 1025 chars": Bad(VALIDATE, as_json({"token": "a" * 1025}), 422),
    "validate: token not a string": Bad(VALIDATE, as_json({"token": 12345}), 422),
    "validate: token of 1 MB": Bad(VALIDATE, as_json({"token": "a" * MB}), 413),
    "validate: garbage token": Bad(VALIDATE, as_json({"token": SECRETISH}), 400),
    # /reset-password: shapes and types
    "reset: empty body": Bad(RESET, b"", 422),
    "reset: not json": Bad(RESET, b"token=abc&password=x", 422),
    "reset: truncated json": Bad(RESET, b'{"token": "abc", "password":', 422),
    "reset: json null": Bad(RESET, b"null", 422),
    "reset: json list": Bad(RESET, as_json([SECRETISH, VALID_PASSWORD]), 422),
    "reset: json string": Bad(RESET, as_json(SECRETISH), 422),
    "reset: missing token": Bad(RESET, as_json({"password": VALID_PASSWORD}), 422),
    "reset: missing password": Bad(RESET, as_json({"token": SECRETISH}), 422),
    "reset: token is a number": Bad(RESET, as_json({"token": 12345, "password": VALID_PASSWORD}), 422),
    "reset: token is null": Bad(RESET, as_json({"token": None, "password": VALID_PASSWORD}), 422),
    "reset: token is an object": Bad(RESET, as_json({"token": {"a": SECRETISH}, "password": VALID_PASSWORD}), 422),
    "reset: token is a list": Bad(RESET, as_json({"token": [SECRETISH], "password": VALID_PASSWORD}), 422),
    "reset: password is a number": Bad(RESET, as_json({"token": SECRETISH, "password": 1234567890123}), 422),
    "reset: password is a bool": Bad(RESET, as_json({"token": SECRETISH, "password": True}), 422),
    "reset: empty token": Bad(RESET, as_json({"token": "", "password": VALID_PASSWORD}), 422),
    "reset: empty password": Bad(RESET, as_json({"token": SECRETISH, "password": ""}), 422),
    # sizes
    "reset: token of 1025 chars": Bad(RESET, as_json({"token": "a" * 1025, "password": VALID_PASSWORD}), 422),
    "reset: token of 1 MB": Bad(RESET, as_json({"token": "a" * MB, "password": VALID_PASSWORD}), 413),
    "reset: password of 1025 chars": Bad(RESET, as_json({"token": SECRETISH, "password": "p" * 1025}), 422),
    "reset: password of 4 MB": Bad(RESET, as_json({"token": SECRETISH, "password": "p" * (4 * MB)}), 413),
    "reset: 1 MB of nesting": Bad(RESET, b"[" * MB + b"]" * MB, 413),
    # encodings
    "reset: latin-1 bytes": Bad(RESET, '{"token": "caf\xe9", "password": "caf\xe9 caf\xe9 caf\xe9"}'.encode("latin-1"), 422),
    "reset: lone surrogate in password": Bad(RESET, b'{"token": "abc", "password": "pass\\ud800word-long-enough"}', 422),
    # JSON may be UTF-16 (RFC 8259 readers accept it): parsed, and the token is simply wrong.
    "reset: utf-16 body": Bad(RESET, json.dumps({"token": SECRETISH, "password": VALID_PASSWORD}).encode("utf-16"), 400),
    "reset: form content type": Bad(RESET, b"token=abc&password=abcdefghijklmn", 422, "application/x-www-form-urlencoded"),
    "reset: lone surrogate in token": Bad(RESET, b'{"token": "\\ud800abc", "password": "a perfectly fine passphrase"}', 422),
    # tokens of the right type that are wrong: a 400, never a 500
    "reset: NUL bytes in token": Bad(RESET, as_json({"token": "abc\x00def", "password": VALID_PASSWORD}), 400),
    "reset: emoji token": Bad(RESET, as_json({"token": "🔑" * 100, "password": VALID_PASSWORD}), 400),
    "reset: alg none jwt": Bad(RESET, as_json({"token": "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "password": VALID_PASSWORD}), 400),
    "reset: three dots": Bad(RESET, as_json({"token": "...", "password": VALID_PASSWORD}), 400),
    "reset: the longest valid body, every character escaped": Bad(RESET, as_json({"token": "A" * 1024, "password": "\U0001f600" * 1024}), 400),
    "reset: token of exactly 1024 chars": Bad(RESET, as_json({"token": "A" * 1024, "password": VALID_PASSWORD}), 400),
    "reset: base64 garbage": Bad(RESET, as_json({"token": "eyJ" + "A" * 200 + "." + "B" * 50 + "." + "C" * 43, "password": VALID_PASSWORD}), 400),
    # /forgot-password
    "forgot: empty body": Bad(FORGOT, b"", 422),
    "forgot: missing email": Bad(FORGOT, as_json({}), 422),
    "forgot: not an email": Bad(FORGOT, as_json({"email": "alice"}), 422),
    "forgot: email is a number": Bad(FORGOT, as_json({"email": 42}), 422),
    "forgot: email is a list": Bad(FORGOT, as_json({"email": ["alice@example.com"]}), 422),
    "forgot: email of 321 chars": Bad(FORGOT, as_json({"email": "a" * 309 + "@example.com"}), 422),
    "forgot: email of 1 MB": Bad(FORGOT, as_json({"email": "a" * MB + "@example.com"}), 413),
    "forgot: lone surrogate": Bad(FORGOT, b'{"email": "al\\udc00ice@example.com"}', 422),
    "forgot: two at signs": Bad(FORGOT, as_json({"email": "alice@@example.com"}), 422),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
async def test_malformed_request_is_refused_and_changes_nothing(harness: Harness, case: str) -> None:
    """4xx with a stable body, no echo of secrets, the user's password untouched."""
    bad = CASES[case]
    user = await harness.add_user()
    response = await harness.client.post(
        bad.path, content=bad.body, headers={"content-type": bad.content_type}
    )
    await harness.users.background.drain()
    assert response.status_code == bad.status, response.text[:300]
    if bad.status == 413:  # refused before it was read: FastAPI's own answer
        assert "Content Too Large" in response.text
        assert await harness.password_works(user.email, PASSWORD)
        return
    body = response.json()
    if bad.status == 400:
        assert body == {"detail": "RESET_PASSWORD_BAD_TOKEN"}
    else:
        assert isinstance(body["detail"], list) and body["detail"]
        for error in body["detail"]:
            assert "input" not in error and {"type", "loc", "msg"} <= set(error)
    assert SECRETISH not in response.text
    assert VALID_PASSWORD not in response.text
    assert len(response.content) < 4096
    assert await harness.password_works(user.email, PASSWORD)
    assert harness.outbox.forgot == [] and harness.outbox.reset == []


@pytest.mark.parametrize("path", [RESET, FORGOT, "/auth/register", "/auth/jwt/login"])
async def test_a_large_body_is_refused_before_it_is_read(harness: Harness, path: str) -> None:
    """413 on every route: announced by Content-Length, or found while streaming without one."""
    sent = 0

    async def stream() -> Any:
        nonlocal sent
        for _ in range(64 * 1024):  # 64 MB, if it were all read
            sent += 1024
            yield b"a" * 1024

    form = path.endswith("/login")
    headers = {"content-type": "application/x-www-form-urlencoded" if form else "application/json"}
    announced = await harness.client.post(path, content=b"a" * (16 * 1024 + 1), headers=headers)
    streamed = await harness.client.post(path, content=stream(), headers=headers)
    assert (announced.status_code, streamed.status_code) == (413, 413)
    assert sent < 1024 * 1024, "the body was read on after the limit"
    assert harness.outbox.forgot == []


def test_the_table_is_large_enough() -> None:
    """At least thirty malformed requests are exercised."""
    assert len(CASES) >= 30
