"""`FastAPIUsers`: the fastapi-users 5-7 entry point, wired to this library's flows."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic

from fastapi import APIRouter, Depends, HTTPException, status

from fastapi_password_reset._background import BackgroundWork
from fastapi_password_reset._events import Event, EventRecorder, ResetEvent
from fastapi_password_reset._hooks import (
    AfterForgotPassword,
    AfterForgotPasswordUnknown,
    AfterRegister,
    AfterResetPassword,
    ValidatePassword,
)
from fastapi_password_reset._service import PasswordResetService
from fastapi_password_reset._signing import Secret
from fastapi_password_reset.authentication import JWTAuthentication
from fastapi_password_reset.db.base import UD, BaseUserDatabase, check_user_database
from fastapi_password_reset.models import BaseUser, BaseUserCreate, BaseUserUpdate
from fastapi_password_reset.password import PasswordHelper
from fastapi_password_reset.router.auth import build_auth_router
from fastapi_password_reset.router.register import build_register_router
from fastapi_password_reset.router.reset import build_reset_password_router
from fastapi_password_reset.tokens.base import ResetTokenStrategy
from fastapi_password_reset.tokens.jwt import JWTResetTokenStrategy

# At most one reset mail per user per minute, unless the router says otherwise.
DEFAULT_MIN_INTERVAL_SECONDS = 60.0


class FastAPIUsers(Generic[UD]):
    """Holds an application's user setup and makes its routers and dependencies.

    The constructor and the router factories keep fastapi-users 5-7's names, order and
    defaults, so existing code runs with its imports changed. Hooks given to the routers run
    after the response; ``background`` is where they run, and ``await background.drain()``
    waits for them.
    """

    def __init__(
        self,
        db: BaseUserDatabase[UD],
        auth_backends: Sequence[JWTAuthentication],
        user_model: type[BaseUser],
        user_create_model: type[BaseUserCreate],
        user_update_model: type[BaseUserUpdate],
        user_db_model: type[UD],
        validate_password: ValidatePassword | None = None,
        *,
        password_helper: PasswordHelper | None = None,
        background: BackgroundWork | None = None,
        on_event: Callable[[ResetEvent], object] | None = None,
    ) -> None:
        check_user_database(db, needed=("get", "get_by_email"))
        self.db = db
        self.auth_backends = list(auth_backends)
        self.user_model = user_model
        self.user_create_model = user_create_model
        self.user_update_model = user_update_model
        self.user_db_model = user_db_model
        self.validate_password = validate_password
        self.password_helper = password_helper or PasswordHelper()
        self.background = background if background is not None else BackgroundWork()
        self.events = EventRecorder(on_event)
        """Where every outcome is logged, passed to ``on_event`` and counted as a metric."""
        self.events.observe_pending(lambda: self.background.pending)
        events = self.events
        self.background.on_shed = lambda count, why: events.emit(
            Event.JOB_SHED, reason=why, count=count
        )

    def get_reset_password_router(
        self,
        reset_password_token_secret: Secret,
        reset_password_token_lifetime_seconds: int = 3600,
        after_forgot_password: AfterForgotPassword[UD] | None = None,
        after_reset_password: AfterResetPassword[UD] | None = None,
        *,
        token_strategy: ResetTokenStrategy | None = None,
        min_interval_seconds: float = DEFAULT_MIN_INTERVAL_SECONDS,
        after_forgot_password_unknown: AfterForgotPasswordUnknown | None = None,
    ) -> APIRouter:
        """``POST /forgot-password`` and ``POST /reset-password``.

        The secret (at least 32 bytes), lifetime and ``min_interval_seconds`` (at most one
        reset mail per user per interval, 0: no throttle) are bound to ``token_strategy``,
        which defaults to a new `JWTResetTokenStrategy`. ``after_forgot_password_unknown(email,
        request)`` runs after the answer for an address without an active account.
        """
        service = self.get_reset_password_service(
            reset_password_token_secret,
            reset_password_token_lifetime_seconds,
            after_forgot_password,
            after_reset_password,
            token_strategy=token_strategy,
            min_interval_seconds=min_interval_seconds,
            after_forgot_password_unknown=after_forgot_password_unknown,
        )
        return build_reset_password_router(service, self.background)

    def get_reset_password_service(
        self,
        reset_password_token_secret: Secret,
        reset_password_token_lifetime_seconds: int = 3600,
        after_forgot_password: AfterForgotPassword[UD] | None = None,
        after_reset_password: AfterResetPassword[UD] | None = None,
        *,
        token_strategy: ResetTokenStrategy | None = None,
        min_interval_seconds: float = DEFAULT_MIN_INTERVAL_SECONDS,
        after_forgot_password_unknown: AfterForgotPasswordUnknown | None = None,
    ) -> PasswordResetService[UD]:
        """The reset flow without HTTP, for application code: same arguments as the router.

        Given the same strategy and settings as a router, it issues and accepts the same
        tokens (``await service.issue_token(user, lifetime_seconds=600)``).
        """
        strategy = token_strategy if token_strategy is not None else JWTResetTokenStrategy()
        strategy.bind(
            reset_password_token_secret,
            reset_password_token_lifetime_seconds,
            min_interval_seconds=min_interval_seconds,
            events=self.events,
        )
        return PasswordResetService(
            user_db=self.db,
            password_helper=self.password_helper,
            token_strategy=strategy,
            validate_password=self.validate_password,
            after_forgot_password=after_forgot_password,
            after_reset_password=after_reset_password,
            after_forgot_password_unknown=after_forgot_password_unknown,
            background=self.background,
            events=self.events,
        )

    def get_register_router(self, after_register: AfterRegister[UD] | None = None) -> APIRouter:
        """``POST /register``, answering 201 with the new user."""
        check_user_database(self.db, needed=("create",))
        return build_register_router(
            user_db=self.db,
            user_model=self.user_model,
            user_create_model=self.user_create_model,
            user_db_model=self.user_db_model,
            password_helper=self.password_helper,
            validate_password=self.validate_password,
            background=self.background,
            after_register=after_register,
        )

    def get_auth_router(self, backend: JWTAuthentication) -> APIRouter:
        """``POST /login`` for one authentication backend."""
        return build_auth_router(
            backend=backend, user_db=self.db, password_helper=self.password_helper
        )

    def current_user(
        self, active: bool = True, verified: bool = False, superuser: bool = False
    ) -> Callable[..., Awaitable[UD]]:
        """A dependency giving the user of the request's bearer token.

        401 without a live token (or for an inactive user when ``active``); 403 when the user
        lacks the required verified or superuser flag.
        """
        backends = self.auth_backends
        user_db = self.db

        async def dependency(**tokens: str | None) -> UD:
            user = None
            for backend in backends:
                user = await backend.read_user(tokens[backend.name], user_db)
                if user is not None:
                    break
            if user is None or (active and not user.is_active):
                raise HTTPException(
                    status.HTTP_401_UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"}
                )
            if (verified and not user.is_verified) or (superuser and not user.is_superuser):
                raise HTTPException(status.HTTP_403_FORBIDDEN)
            return user

        # One bearer parameter per backend, so that each appears in the OpenAPI security list.
        parameters = [
            inspect.Parameter(
                backend.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=Depends(backend.scheme),
                annotation=str | None,
            )
            for backend in backends
        ]
        dependency.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        return dependency
