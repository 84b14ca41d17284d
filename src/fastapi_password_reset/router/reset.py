"""``POST /forgot-password`` and ``POST /reset-password``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from fastapi_password_reset.db.base import UD, BaseUserDatabase
from fastapi_password_reset.exceptions import InvalidPasswordException
from fastapi_password_reset.models import MAX_TOKEN_LENGTH, Email, Password
from fastapi_password_reset.password import PasswordHelper
from fastapi_password_reset.router.common import ErrorCode, error_examples
from fastapi_password_reset.router.hooks import (
    BackgroundWork,
    Hook,
    call_hook,
    call_hook_logged,
    redacted_traceback,
)
from fastapi_password_reset.router.validation import RedactedValidationRoute
from fastapi_password_reset.tokens.base import ResetTokenStrategy, TokenStoreUnavailableError

logger = logging.getLogger("fastapi_password_reset")


class ForgotPasswordBody(BaseModel):
    email: Email


class ResetPasswordBody(BaseModel):
    token: Annotated[str, Field(min_length=1, max_length=MAX_TOKEN_LENGTH)]
    password: Password


def _null_response(status_code: int, background: BackgroundTask | None = None) -> Response:
    return Response(b"null", status_code, media_type="application/json", background=background)


def _bad_token() -> HTTPException:
    return HTTPException(status.HTTP_400_BAD_REQUEST, ErrorCode.RESET_PASSWORD_BAD_TOKEN)


def _store_unavailable() -> HTTPException:
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE, ErrorCode.RESET_PASSWORD_TOKEN_STORE_UNAVAILABLE
    )


_RESET_ERRORS: dict[int | str, dict[str, Any]] = {
    status.HTTP_400_BAD_REQUEST: error_examples(
        "Bad token or refused password.",
        RESET_PASSWORD_BAD_TOKEN=ErrorCode.RESET_PASSWORD_BAD_TOKEN,
        RESET_PASSWORD_INVALID_PASSWORD={
            "code": ErrorCode.RESET_PASSWORD_INVALID_PASSWORD,
            "reason": "Password should be at least 12 characters",
        },
    ),
    status.HTTP_500_INTERNAL_SERVER_ERROR: error_examples(
        "The new password could not be stored; the token is still usable.",
        RESET_PASSWORD_NOT_SAVED=ErrorCode.RESET_PASSWORD_NOT_SAVED,
    ),
    status.HTTP_503_SERVICE_UNAVAILABLE: error_examples(
        "The token store is unreachable; nothing was changed.",
        RESET_PASSWORD_TOKEN_STORE_UNAVAILABLE=ErrorCode.RESET_PASSWORD_TOKEN_STORE_UNAVAILABLE,
    ),
}


def build_reset_password_router(
    *,
    user_db: BaseUserDatabase[UD],
    password_helper: PasswordHelper,
    validate_password: Hook | None,
    background: BackgroundWork,
    token_strategy: ResetTokenStrategy,
    after_forgot_password: Hook | None,
    after_reset_password: Hook | None,
) -> APIRouter:
    """The two reset routes over an already bound token strategy."""

    @asynccontextmanager
    async def finish_hooks_on_shutdown(_app: Any) -> AsyncIterator[None]:
        yield
        await background.drain()

    router = APIRouter(route_class=RedactedValidationRoute, lifespan=finish_hooks_on_shutdown)

    async def send_reset_token(email: str, request: Request) -> None:
        try:
            user = await user_db.get_by_email(email)
        except Exception as exc:
            logger.error("forgot-password: user lookup failed:\n%s", redacted_traceback(exc, []))
            return
        if user is None or not user.is_active:
            return
        try:
            token = await token_strategy.issue_token(user)
        except TokenStoreUnavailableError as exc:
            logger.error(
                "forgot-password: token store unavailable, no token for user %s (%s)", user.id, exc
            )
            return
        except Exception as exc:
            logger.error(
                "forgot-password: issuing a token for user %s failed:\n%s",
                user.id,
                redacted_traceback(exc, [user.hashed_password]),
            )
            return
        if token is not None and after_forgot_password is not None:
            hook = after_forgot_password
            await call_hook_logged("after_forgot_password", hook, [token], user, token, request)

    @router.post(
        "/forgot-password",
        status_code=status.HTTP_202_ACCEPTED,
        name="reset:forgot_password",
        response_model=None,
        responses={status.HTTP_202_ACCEPTED: {"content": {"application/json": {"example": None}}}},
    )
    async def forgot_password(body: ForgotPasswordBody, request: Request) -> Response:
        """Ask for a reset link. The answer is the same whether or not the account exists."""
        # Nothing is looked up before the answer is sent, so its timing cannot tell whether
        # the address has an account.
        work = BackgroundTask(background.spawn, send_reset_token, body.email, request)
        return _null_response(status.HTTP_202_ACCEPTED, work)

    @router.post(
        "/reset-password",
        name="reset:reset_password",
        response_model=None,
        responses=_RESET_ERRORS,
    )
    async def reset_password(body: ResetPasswordBody, request: Request) -> Response:
        """Set a new password with a reset token; the token is used up only on success."""
        try:
            user = await token_strategy.read_token(body.token, user_db.get)
        except TokenStoreUnavailableError:
            raise _store_unavailable() from None
        if user is None or not user.is_active:
            raise _bad_token()

        if validate_password is not None:
            try:
                await call_hook(validate_password, body.password, user)
            except InvalidPasswordException as exc:
                detail = {"code": ErrorCode.RESET_PASSWORD_INVALID_PASSWORD, "reason": exc.reason}
                raise HTTPException(status.HTTP_400_BAD_REQUEST, detail) from None
        new_hash = await password_helper.hash(body.password)

        try:
            consumed = await token_strategy.consume_token(body.token, user)
        except TokenStoreUnavailableError:
            raise _store_unavailable() from None
        if not consumed:
            raise _bad_token()

        updated = await _store_or_give_back(user, new_hash, body.token)
        try:
            await token_strategy.password_changed(updated)
        except Exception as exc:
            # The password is changed; the other tokens no longer match its fingerprint, so
            # they are dead even where they could not be deleted. The answer stays 200.
            logger.error(
                "reset-password: could not revoke other tokens of user %s:\n%s",
                user.id,
                redacted_traceback(exc, [body.token, new_hash]),
            )
        work = None
        if after_reset_password is not None:
            work = BackgroundTask(
                background.spawn,
                call_hook_logged,
                "after_reset_password",
                after_reset_password,
                (),
                updated,
                request,
            )
        return _null_response(status.HTTP_200_OK, work)

    async def _store_or_give_back(user: UD, new_hash: str, token: str) -> UD:
        """Store the new hash; on failure give the token back so that nothing is lost."""
        try:
            return await user_db.update(user.model_copy(update={"hashed_password": new_hash}))
        except Exception as exc:
            logger.error(
                "reset-password: storing the new password of user %s failed:\n%s",
                user.id,
                redacted_traceback(exc, [token, new_hash, user.hashed_password]),
            )
            try:
                await token_strategy.restore_token(token, user)
            except Exception as restore_exc:
                logger.error(
                    "reset-password: could not give the token of user %s back:\n%s",
                    user.id,
                    redacted_traceback(restore_exc, [token]),
                )
            raise HTTPException(
                status.HTTP_500_INTERNAL_SERVER_ERROR, ErrorCode.RESET_PASSWORD_NOT_SAVED
            ) from None

    return router
