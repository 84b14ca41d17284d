"""``POST /login``: an OAuth2 password form in, a bearer access token out."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, status
from pydantic import BaseModel

from fastapi_password_reset._redaction import remember_secret
from fastapi_password_reset.authentication import JWTAuthentication
from fastapi_password_reset.db.base import UD, BaseUserDatabase
from fastapi_password_reset.models import MAX_EMAIL_LENGTH, MAX_PASSWORD_LENGTH
from fastapi_password_reset.password import PasswordHelper
from fastapi_password_reset.router._routes import MAX_BODY_BYTES, RedactedRoute
from fastapi_password_reset.router.common import ErrorCode, error_examples


class Credentials(BaseModel):
    username: str
    password: str


def read_login_form(
    username: Annotated[str, Form(max_length=MAX_EMAIL_LENGTH)],
    password: Annotated[str, Form(max_length=MAX_PASSWORD_LENGTH)],
    grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
    scope: Annotated[str, Form()] = "",
) -> Credentials:
    """The OAuth2 password form, with the same length limits as registration."""
    return Credentials(username=username, password=password)


def build_auth_router(
    *,
    backend: JWTAuthentication,
    user_db: BaseUserDatabase[UD],
    password_helper: PasswordHelper,
) -> APIRouter:
    """Log in with e-mail and password; outdated password hashes are upgraded on the way."""
    router = APIRouter(route_class=RedactedRoute, max_body_size=MAX_BODY_BYTES)
    responses: dict[int | str, dict[str, Any]] = {
        status.HTTP_400_BAD_REQUEST: error_examples(
            "Wrong e-mail or password, or an inactive account.",
            LOGIN_BAD_CREDENTIALS=ErrorCode.LOGIN_BAD_CREDENTIALS,
        )
    }

    async def authenticate(credentials: Credentials) -> UD | None:
        """The active user these credentials are right for, upgrading an outdated hash."""
        # Twice at most: a hash upgrade loses to a change made meanwhile (a reset, another
        # log-in's upgrade), and the credentials are then checked against what is stored.
        for _ in range(2):
            user = await user_db.get_by_email(credentials.username)
            if user is None:
                # Spend one verification anyway, so an unknown address answers in the same time.
                await password_helper.dummy_verify()
                return None
            remember_secret(user.hashed_password)
            verified, new_hash = await password_helper.verify_and_update(
                credentials.password, user.hashed_password
            )
            if not verified or not user.is_active:
                return None
            if new_hash is None:
                return user
            # Only the hash, and only if unchanged: a stale copy never undoes a reset.
            remember_secret(new_hash)
            if await user_db.replace_password_hash(user.id, user.hashed_password, new_hash):
                return user.model_copy(update={"hashed_password": new_hash})
        return None

    @router.post("/login", name=f"auth:{backend.name}.login", responses=responses)
    async def login(
        credentials: Annotated[Credentials, Depends(read_login_form)],
    ) -> dict[str, str]:
        remember_secret(credentials.password)
        user = await authenticate(credentials)
        if user is None:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, ErrorCode.LOGIN_BAD_CREDENTIALS)
        token = backend.write_token(user.id, user.hashed_password)
        return {"access_token": token, "token_type": "bearer"}

    return router
