"""Register, log in, current_user; a password reset ends earlier sessions."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from fastapi import Depends

from fastapi_password_reset.authentication import JWTAuthentication
from tests.conftest import NEW_PASSWORD, PASSWORD, SECRET, Harness

pytestmark = pytest.mark.anyio


async def test_register_creates_a_user_without_showing_the_hash(harness: Harness) -> None:
    """201 with the public fields only; the password is stored hashed."""
    response = await harness.client.post(
        "/auth/register", json={"email": "new@example.com", "password": PASSWORD}
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "email", "is_active", "is_superuser", "is_verified"}
    assert await harness.password_works("new@example.com", PASSWORD)


async def test_register_cannot_grant_privileges(harness: Harness) -> None:
    """is_superuser / is_verified / is_active in the body are ignored."""
    response = await harness.client.post(
        "/auth/register",
        json={
            "email": "sneaky@example.com",
            "password": PASSWORD,
            "is_superuser": True,
            "is_verified": True,
            "is_active": False,
        },
    )
    body = response.json()
    assert (body["is_superuser"], body["is_verified"], body["is_active"]) == (False, False, True)


async def test_register_refuses_a_taken_email_whatever_its_case(harness: Harness) -> None:
    """400 REGISTER_USER_ALREADY_EXISTS."""
    await harness.add_user()
    response = await harness.client.post(
        "/auth/register", json={"email": "ALICE@example.com", "password": PASSWORD}
    )
    assert (response.status_code, response.json()) == (
        400,
        {"detail": "REGISTER_USER_ALREADY_EXISTS"},
    )


async def test_register_applies_the_password_policy(harness: Harness) -> None:
    """400 with REGISTER_INVALID_PASSWORD and the policy's reason."""
    response = await harness.client.post(
        "/auth/register", json={"email": "new@example.com", "password": "short"}
    )
    assert response.json() == {
        "detail": {
            "code": "REGISTER_INVALID_PASSWORD",
            "reason": "Password should be at least 12 characters",
        }
    }
    assert await harness.user_db.get_by_email("new@example.com") is None


async def test_login_gives_a_bearer_token_that_current_user_accepts(harness: Harness) -> None:
    """POST /login -> bearer JWT -> /me answers with the user."""
    await harness.add_user()
    login = await harness.login("alice@example.com", PASSWORD)
    assert login.status_code == 200
    assert login.json()["token_type"] == "bearer"
    token = login.json()["access_token"]
    me = await harness.client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert (me.status_code, me.json()) == (200, {"email": "alice@example.com"})


@pytest.mark.parametrize(
    ("email", "password", "active"),
    [
        ("alice@example.com", "wrong password!!", True),
        ("nobody@example.com", PASSWORD, True),
        ("alice@example.com", PASSWORD, False),
    ],
)
async def test_login_refuses_bad_credentials_alike(
    harness: Harness, email: str, password: str, active: bool
) -> None:
    """Wrong password, unknown user, inactive user: the same 400 LOGIN_BAD_CREDENTIALS."""
    await harness.add_user(is_active=active)
    response = await harness.login(email, password)
    assert (response.status_code, response.json()) == (400, {"detail": "LOGIN_BAD_CREDENTIALS"})


async def test_an_unknown_email_still_spends_one_verification(harness: Harness) -> None:
    """Login for an unknown address runs argon2 verify once (no enumeration by timing)."""
    calls: list[str] = []
    helper = harness.users.password_helper
    original = helper._verify_and_update

    def counting(password: str, hashed: str) -> tuple[bool, str | None]:
        calls.append(password)
        return original(password, hashed)

    helper._verify_and_update = counting  # type: ignore[method-assign,assignment]
    await harness.login("nobody@example.com", PASSWORD)
    assert len(calls) == 1


async def test_login_rehashes_a_password_hashed_with_old_parameters(harness: Harness) -> None:
    """A hash under other argon2 parameters is replaced by one under the current ones."""
    old_hasher = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1, hash_len=16, salt_len=8)
    user = await harness.add_user()
    await harness.user_db.update(
        user.model_copy(update={"hashed_password": old_hasher.hash(PASSWORD)})
    )
    assert (await harness.login(user.email, PASSWORD)).status_code == 200
    stored = await harness.user_db.get(user.id)
    assert stored is not None
    assert f"m={CHEAPEST.memory_cost},t={CHEAPEST.time_cost}" in stored.hashed_password
    assert (await harness.login(user.email, PASSWORD)).status_code == 200


async def test_an_access_token_issued_before_a_reset_is_refused_after_it(harness: Harness) -> None:
    """401 for the old session; a new login works with the new password."""
    await harness.add_user()
    old_session = (await harness.login("alice@example.com", PASSWORD)).json()["access_token"]
    token = await harness.token_for()
    assert (await harness.reset(token)).status_code == 200
    me = await harness.client.get("/me", headers={"Authorization": f"Bearer {old_session}"})
    assert me.status_code == 401
    assert (await harness.login("alice@example.com", PASSWORD)).status_code == 400
    assert (await harness.login("alice@example.com", NEW_PASSWORD)).status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Bearer not-a-jwt",
        "Basic YWxpY2U6cGFzcw==",
        "Bearer " + "a" * 5000,
    ],
)
async def test_current_user_answers_401_without_a_live_token(
    harness: Harness, header: str | None
) -> None:
    """Missing, malformed or oversized bearer tokens: 401 with WWW-Authenticate."""
    headers = {"Authorization": header} if header else {}
    response = await harness.client.get("/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_reset_token_is_not_an_access_token(harness: Harness) -> None:
    """Audiences differ: a reset token is refused by current_user."""
    await harness.add_user()
    token = await harness.token_for()
    me = await harness.client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401


async def test_an_access_token_is_not_a_reset_token(harness: Harness) -> None:
    """An access token signed with the same secret cannot reset a password."""
    await harness.add_user()
    session = (await harness.login("alice@example.com", PASSWORD)).json()["access_token"]
    response = await harness.reset(session)
    assert response.json() == {"detail": "RESET_PASSWORD_BAD_TOKEN"}


async def test_an_inactive_user_is_refused_and_flags_are_enforced(harness: Harness) -> None:
    """Missing superuser or verified flag gives 403; deactivation ends a session (401)."""
    user = await harness.add_user()
    session = (await harness.login(user.email, PASSWORD)).json()["access_token"]
    auth = {"Authorization": f"Bearer {session}"}
    for path, requirement in [("/admin", {"superuser": True}), ("/verified", {"verified": True})]:
        dependency = harness.users.current_user(**requirement)
        harness.app.get(path, dependencies=[Depends(dependency)])(lambda: None)
        assert (await harness.client.get(path, headers=auth)).status_code == 403
    await harness.user_db.update(
        user.model_copy(update={"is_superuser": True, "is_verified": True})
    )
    assert (await harness.client.get("/admin", headers=auth)).status_code == 200
    assert (await harness.client.get("/verified", headers=auth)).status_code == 200
    await harness.user_db.update(user.model_copy(update={"is_active": False}))
    assert (await harness.client.get("/me", headers=auth)).status_code == 401


def test_a_short_authentication_secret_is_refused() -> None:
    """JWTAuthentication refuses a secret under 32 bytes too."""
    from fastapi_password_reset import InsecureSecretError

    with pytest.raises(InsecureSecretError):
        JWTAuthentication(secret="SECRET", lifetime_seconds=3600)
    assert JWTAuthentication(secret=SECRET, lifetime_seconds=60).lifetime_seconds == 60
