"""The reset routes of fastapi-users 13-15, on this library's tokens and guarantees.

An application on fastapi-users keeps its whole stack and swaps one router::

    from fastapi_password_reset.contrib.fastapi_users import get_reset_password_router

    app.include_router(
        get_reset_password_router(fastapi_users.get_user_manager),
        prefix="/auth",
        tags=["auth"],
    )

Needs the ``fastapi-users`` extra; nothing else in the library imports fastapi-users.

Why it is safe, beyond the reset service's own reasons (`PasswordResetService`):

- forgot-password answers before any lookup; the lookup, the token and the mail hook run
  after the answer with a user manager of their own (`DependencyScope`), so neither the
  answer nor the client's connection waits on whether the address has an account;
- the password is written by a compare-and-set of the hash column through the manager's
  database (`ManagerUsers.replace_password_hash`): one reset per token across processes,
  nothing else of the user overwritten;
- the secret is checked when the application starts (`ManagerSettings`), not first in a job
  after an answer, where a refusal would only show as missing mails;
- the routes use `RedactedRoute`: no token, password or hash in an answer or a log.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi_password_reset._install import install_hint

try:
    from fastapi_users import exceptions as fastapi_users_exceptions
    from fastapi_users.router.common import ErrorModel
except ImportError as missing:  # pragma: no cover - depends on what is installed
    raise ImportError(
        "fastapi_password_reset.contrib.fastapi_users needs fastapi-users and its SQLAlchemy "
        f"adapter: {install_hint('fastapi-users')}"
    ) from missing

from fastapi import APIRouter, Body, Depends, Request, status
from fastapi.responses import Response
from starlette.background import BackgroundTask

from fastapi_password_reset._background import BackgroundWork
from fastapi_password_reset._events import Event, EventRecorder, ResetEvent
from fastapi_password_reset._redaction import redacted_traceback
from fastapi_password_reset._service import PasswordResetService
from fastapi_password_reset.contrib._binding import ManagerSettings
from fastapi_password_reset.contrib._dependency_scope import (
    DependencyScope,
    DependencyUnavailableError,
)
from fastapi_password_reset.contrib._manager_users import ManagerPasswordHasher, ManagerUsers
from fastapi_password_reset.exceptions import InvalidPasswordException
from fastapi_password_reset.fastapi_users import DEFAULT_MIN_INTERVAL_SECONDS
from fastapi_password_reset.models import Email, Password
from fastapi_password_reset.router._bodies import Token
from fastapi_password_reset.router._routes import MAX_BODY_BYTES, RedactedRoute
from fastapi_password_reset.router.reset import (
    RESET_ERRORS,
    VALIDATE_ERRORS,
    answer_check,
    answer_reset,
    null_response,
)
from fastapi_password_reset.tokens.base import ResetTokenStrategy
from fastapi_password_reset.tokens.jwt import JWTResetTokenStrategy

__all__ = ["get_reset_password_router"]

logger = logging.getLogger("fastapi_password_reset")

UserManagerDependency = Callable[..., Any]

# Body fields as fastapi-users declares them (``Body(...)``, so the OpenAPI body schemas are
# its own), with this library's bounds. ``Body()`` goes inside ``Annotated``: as a default
# value it would drop the bounds the alias carries.
BodyEmail = Annotated[Email, Body()]
EmbeddedEmail = Annotated[Email, Body(embed=True)]
BodyToken = Annotated[Token, Body()]
EmbeddedToken = Annotated[Token, Body(embed=True)]
BodyPassword = Annotated[Password, Body()]

# fastapi-users' own model of the 400 answer, so that clients generated from the schema keep
# their error type.
RESET_ANSWERS = {
    **RESET_ERRORS,
    status.HTTP_400_BAD_REQUEST: {**RESET_ERRORS[status.HTTP_400_BAD_REQUEST], "model": ErrorModel},
}


def get_reset_password_router(
    get_user_manager: UserManagerDependency,
    *,
    token_strategy: ResetTokenStrategy | None = None,
    min_interval_seconds: float = DEFAULT_MIN_INTERVAL_SECONDS,
    background: BackgroundWork | None = None,
    on_event: Callable[[ResetEvent], object] | None = None,
) -> APIRouter:
    """fastapi-users' ``POST /forgot-password`` and ``POST /reset-password``, and
    ``POST /reset-password/validate``.

    Same bodies, answers and error codes as fastapi-users 15's router. The manager's
    ``reset_password_token_secret`` (at least 32 bytes) and
    ``reset_password_token_lifetime_seconds`` are bound to ``token_strategy`` (a new
    `JWTResetTokenStrategy` by default) at start-up.
    ``on_after_forgot_password(user, token, request)`` and
    ``on_after_reset_password(user, request)`` run after the answer, on ``background``;
    ``validate_password(password, user)`` runs before the token is spent.
    """
    strategy = token_strategy if token_strategy is not None else JWTResetTokenStrategy()
    work = background if background is not None else BackgroundWork()
    events = EventRecorder(on_event)
    events.observe_pending(lambda: work.pending)
    work.on_shed = lambda count, why: events.emit(Event.JOB_SHED, reason=why, count=count)
    settings = ManagerSettings(strategy, min_interval_seconds, events)
    manager_scope = DependencyScope(get_user_manager)

    def service_of(manager: Any) -> PasswordResetService[Any]:
        settings.bind(manager)
        users = ManagerUsers(manager)
        return PasswordResetService(
            user_db=users,
            password_helper=ManagerPasswordHasher(manager),
            token_strategy=strategy,
            validate_password=manager.validate_password,
            after_forgot_password=users.releasing_connection(manager.on_after_forgot_password),
            after_reset_password=manager.on_after_reset_password,
            background=work,
            events=events,
        )

    async def with_own_manager(
        name: str, request: Request, job: Callable[[Any], Awaitable[None]]
    ) -> None:
        """Run ``job`` after the answer with a user manager of its own (see DependencyScope)."""
        try:
            await manager_scope.run(request.scope, job)
        except DependencyUnavailableError as exc:
            logger.error("%s: no user manager could be made: %s", name, exc)
            events.emit(Event.STORE_UNAVAILABLE, reason="user_database")
        except Exception as exc:
            # The jobs log their own failures: this is the dependency chain, or its clean-up.
            logger.error(
                "%s: the user manager's dependencies failed:\n%s", name, redacted_traceback(exc)
            )
            events.emit(Event.STORE_UNAVAILABLE, reason="user_database")

    async def forgot_job(request: Request, email: str) -> None:
        async def forgot(manager: Any) -> None:
            await service_of(manager).forgot_password(email, request)

        await with_own_manager("forgot-password", request, forgot)

    async def after_reset_job(user: Any, request: Request) -> None:
        # The request's session closes with the answer: the hook gets a manager (and a
        # session) of its own, closed when it returns, and the user as stored now, loaded
        # in that session, so that it can write it back through its manager.
        user_id = user.id

        async def after_reset(manager: Any) -> None:
            stored = await ManagerUsers(manager).get(user_id)
            if stored is not None:
                await service_of(manager).after_reset(stored, request)

        await with_own_manager("reset-password", request, after_reset)

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        # The secret is checked now, not at the first forgot-password: that one runs after
        # its answer, so a refused secret would only show as mails that never go out.
        await settings.bind_at_startup(manager_scope, app)
        yield
        await work.drain()

    router = APIRouter(route_class=RedactedRoute, lifespan=lifespan, max_body_size=MAX_BODY_BYTES)

    @router.post(
        "/forgot-password",
        status_code=status.HTTP_202_ACCEPTED,
        name="reset:forgot_password",
        response_model=None,
        responses={status.HTTP_202_ACCEPTED: {"content": {"application/json": {"example": None}}}},
    )
    async def forgot_password(request: Request, email: EmbeddedEmail) -> Response:
        """Ask for a reset link. Answered before the address is looked up."""
        events.emit(Event.RESET_ASKED)
        job = BackgroundTask(work.spawn, forgot_job, request, email)
        return null_response(status.HTTP_202_ACCEPTED, job)

    # fastapi-users' policy raises its own InvalidPasswordException; ours is honoured too.
    password_refusals = (
        fastapi_users_exceptions.InvalidPasswordException,
        InvalidPasswordException,
    )

    async def reset(
        manager: Any, request: Request, token: str, password: str, email: str | None
    ) -> Response:
        service = service_of(manager)
        return await answer_reset(
            service,
            work,
            request,
            token,
            password,
            email,
            password_refusals=password_refusals,
            after_reset=after_reset_job,
        )

    reset_route = router.post(
        "/reset-password", name="reset:reset_password", response_model=None, responses=RESET_ANSWERS
    )
    validate_route = router.post(
        "/reset-password/validate",
        name="reset:validate_token",
        response_model=None,
        responses=VALIDATE_ERRORS,
    )
    if strategy.requires_email:
        # A short code names its account by e-mail, beside the code.

        @reset_route
        async def reset_password_with_code(
            request: Request,
            email: BodyEmail,
            token: BodyToken,
            password: BodyPassword,
            user_manager: Any = Depends(get_user_manager),  # noqa: B008
        ) -> Response:
            """Set a new password with the code sent to ``email``."""
            return await reset(user_manager, request, token, password, email)

        @validate_route
        async def validate_code(
            email: BodyEmail,
            token: BodyToken,
            user_manager: Any = Depends(get_user_manager),  # noqa: B008
        ) -> Response:
            """Whether a code would be accepted now (200) or not (400); a wrong one counts."""
            return await answer_check(service_of(user_manager), token, email)

    else:

        @reset_route
        async def reset_password(
            request: Request,
            token: BodyToken,
            password: BodyPassword,
            user_manager: Any = Depends(get_user_manager),  # noqa: B008
        ) -> Response:
            """Set a new password with a reset token; the token is used up only on success."""
            return await reset(user_manager, request, token, password, None)

        @validate_route
        async def validate_token(
            token: EmbeddedToken,
            user_manager: Any = Depends(get_user_manager),  # noqa: B008
        ) -> Response:
            """Whether a token would be accepted now (200) or not (400). Uses nothing up."""
            return await answer_check(service_of(user_manager), token, None)

    return router
