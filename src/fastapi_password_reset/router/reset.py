"""``POST /forgot-password``, ``POST /reset-password`` and ``POST /reset-password/validate``:
answers for the service's outcomes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import Response
from starlette.background import BackgroundTask

from fastapi_password_reset._background import BackgroundWork
from fastapi_password_reset._events import Event
from fastapi_password_reset._redaction import remember_secret, seen_secrets, with_secrets
from fastapi_password_reset._service import PasswordResetService
from fastapi_password_reset.db.base import UD
from fastapi_password_reset.exceptions import (
    BadResetTokenError,
    InvalidPasswordException,
    PasswordNotSavedError,
)
from fastapi_password_reset.router._bodies import (
    ForgotPasswordBody,
    ResetPasswordBody,
    ResetPasswordWithCodeBody,
    ValidateCodeBody,
    ValidateTokenBody,
)
from fastapi_password_reset.router._routes import MAX_BODY_BYTES, RedactedRoute
from fastapi_password_reset.router.common import ErrorCode, error_examples
from fastapi_password_reset.tokens.base import TokenStoreUnavailableError


def null_response(status_code: int, background: BackgroundTask | None = None) -> Response:
    return Response(b"null", status_code, media_type="application/json", background=background)


RESET_ERRORS: dict[int | str, dict[str, Any]] = {
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
VALIDATE_ERRORS: dict[int | str, dict[str, Any]] = {
    status.HTTP_200_OK: {"content": {"application/json": {"example": None}}},
    status.HTTP_400_BAD_REQUEST: error_examples(
        "The token would be refused now (for a code, the try counted as an attempt).",
        RESET_PASSWORD_BAD_TOKEN=ErrorCode.RESET_PASSWORD_BAD_TOKEN,
    ),
    status.HTTP_503_SERVICE_UNAVAILABLE: RESET_ERRORS[status.HTTP_503_SERVICE_UNAVAILABLE],
}


def _bad_token() -> HTTPException:
    return HTTPException(status.HTTP_400_BAD_REQUEST, ErrorCode.RESET_PASSWORD_BAD_TOKEN)


def _store_unavailable() -> HTTPException:
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE, ErrorCode.RESET_PASSWORD_TOKEN_STORE_UNAVAILABLE
    )


async def answer_reset(
    service: PasswordResetService[Any],
    background: BackgroundWork,
    request: Request,
    token: str,
    password: str,
    email: str | None,
    *,
    password_refusals: tuple[type[Exception], ...] = (InvalidPasswordException,),
    after_reset: Callable[[Any, Request], Awaitable[None]] | None = None,
) -> Response:
    """Reset, and answer for the outcome; ``after_reset_password`` runs after the answer.

    ``password_refusals`` are the exceptions a password policy raises (each has a
    ``reason``), answered 400 ``RESET_PASSWORD_INVALID_PASSWORD``. ``after_reset`` replaces
    ``service.after_reset`` as the work after the answer.
    """
    remember_secret(token, password)
    try:
        user = await service.reset_password(token, password, email=email)
    except BadResetTokenError:
        raise _bad_token() from None
    except password_refusals as exc:
        reason = getattr(exc, "reason", "")
        detail = {"code": ErrorCode.RESET_PASSWORD_INVALID_PASSWORD, "reason": reason}
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail) from None
    except TokenStoreUnavailableError:
        raise _store_unavailable() from None
    except PasswordNotSavedError:
        raise HTTPException(
            status.HTTP_500_INTERNAL_SERVER_ERROR, ErrorCode.RESET_PASSWORD_NOT_SAVED
        ) from None
    # The hook runs after the request's redaction context: it takes the secrets along.
    after = after_reset if after_reset is not None else service.after_reset
    work = BackgroundTask(background.spawn, with_secrets, seen_secrets(), after, user, request)
    return null_response(status.HTTP_200_OK, work)


async def answer_check(
    service: PasswordResetService[Any], token: str, email: str | None
) -> Response:
    """200 if the token would be accepted now, else the error a reset would get."""
    remember_secret(token)
    try:
        await service.check_token(token, email=email)
    except BadResetTokenError:
        raise _bad_token() from None
    except TokenStoreUnavailableError:
        raise _store_unavailable() from None
    return null_response(status.HTTP_200_OK)


def build_reset_password_router(
    service: PasswordResetService[UD], background: BackgroundWork
) -> APIRouter:
    """The reset routes over a service whose strategy is already bound."""

    @asynccontextmanager
    async def finish_hooks_on_shutdown(_app: Any) -> AsyncIterator[None]:
        yield
        await background.drain()

    router = APIRouter(
        route_class=RedactedRoute, lifespan=finish_hooks_on_shutdown, max_body_size=MAX_BODY_BYTES
    )

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
        service.events.emit(Event.RESET_ASKED)
        work = BackgroundTask(background.spawn, service.forgot_password, body.email, request)
        return null_response(status.HTTP_202_ACCEPTED, work)

    async def reset_password(body: ResetPasswordBody, request: Request) -> Response:
        """Set a new password with a reset token; the token is used up only on success."""
        email = getattr(body, "email", None)
        return await answer_reset(service, background, request, body.token, body.password, email)

    async def validate_token(body: ValidateTokenBody, request: Request) -> Response:
        """Whether a token would be accepted now (200) or not (400). Uses nothing up."""
        return await answer_check(service, body.token, getattr(body, "email", None))

    # A code strategy names the account by e-mail beside the code: the bodies say so, and a
    # missing e-mail is a 422 like any other missing field.
    codes = service.token_strategy.requires_email
    reset_password.__annotations__["body"] = (
        ResetPasswordWithCodeBody if codes else ResetPasswordBody
    )
    validate_token.__annotations__["body"] = ValidateCodeBody if codes else ValidateTokenBody
    router.add_api_route(
        "/reset-password",
        reset_password,
        methods=["POST"],
        name="reset:reset_password",
        response_model=None,
        responses=RESET_ERRORS,
    )
    router.add_api_route(
        "/reset-password/validate",
        validate_token,
        methods=["POST"],
        name="reset:validate_token",
        response_model=None,
        responses=VALIDATE_ERRORS,
    )
    return router
