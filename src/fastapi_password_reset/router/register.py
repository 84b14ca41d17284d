"""``POST /register``."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from starlette.background import BackgroundTask
from starlette.responses import JSONResponse, Response

from fastapi_password_reset._background import BackgroundWork
from fastapi_password_reset._hooks import (
    AfterRegister,
    ValidatePassword,
    call_hook,
    call_hook_logged,
)
from fastapi_password_reset._redaction import remember_secret, seen_secrets, with_secrets
from fastapi_password_reset.db.base import UD, BaseUserDatabase
from fastapi_password_reset.exceptions import InvalidPasswordException, UserAlreadyExistsError
from fastapi_password_reset.models import BaseUser, BaseUserCreate
from fastapi_password_reset.password import PasswordHelper
from fastapi_password_reset.router._routes import MAX_BODY_BYTES, RedactedRoute
from fastapi_password_reset.router.common import ErrorCode, error_examples

_PRIVILEGED_FIELDS = {"password", "is_active", "is_superuser", "is_verified"}


def build_register_router(
    *,
    user_db: BaseUserDatabase[UD],
    user_model: type[BaseUser],
    user_create_model: type[BaseUserCreate],
    user_db_model: type[UD],
    password_helper: PasswordHelper,
    validate_password: ValidatePassword | None,
    background: BackgroundWork,
    after_register: AfterRegister[UD] | None,
) -> APIRouter:
    """Create an account; ``after_register(user, request)`` runs after the answer."""
    router = APIRouter(route_class=RedactedRoute, max_body_size=MAX_BODY_BYTES)

    async def register(request: Request, user: BaseUserCreate) -> Response:
        remember_secret(user.password)
        if validate_password is not None:
            try:
                await call_hook(validate_password, user.password, user)
            except InvalidPasswordException as exc:
                detail = {"code": ErrorCode.REGISTER_INVALID_PASSWORD, "reason": exc.reason}
                raise HTTPException(status.HTTP_400_BAD_REQUEST, detail) from None
        if await user_db.get_by_email(user.email) is not None:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, ErrorCode.REGISTER_USER_ALREADY_EXISTS)
        # Self-registration cannot grant privileges: the flags keep the model's defaults.
        fields = user.model_dump(exclude=_PRIVILEGED_FIELDS)
        hashed_password = await password_helper.hash(user.password)
        remember_secret(hashed_password)
        try:
            created = await user_db.create(user_db_model(**fields, hashed_password=hashed_password))
        except UserAlreadyExistsError:
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST, ErrorCode.REGISTER_USER_ALREADY_EXISTS
            ) from None
        work = None
        if after_register is not None:
            # The hook runs after the request's redaction context: it takes the secrets along.
            work = BackgroundTask(
                background.spawn,
                with_secrets,
                seen_secrets(),
                functools.partial(call_hook_logged, run_sync=background.run_sync),
                "after_register",
                after_register,
                created.id,
                created,
                request,
            )
        # Only the public model's fields: a UserDB is a User too, and would bring its hash.
        body = created.model_dump(mode="json", include=set(user_model.model_fields))
        return JSONResponse(body, status.HTTP_201_CREATED, background=work)

    # The body type is the application's own create model, known only now.
    register.__annotations__["user"] = user_create_model
    responses: dict[int | str, dict[str, Any]] = {
        status.HTTP_400_BAD_REQUEST: error_examples(
            "The e-mail is taken or the password was refused.",
            REGISTER_USER_ALREADY_EXISTS=ErrorCode.REGISTER_USER_ALREADY_EXISTS,
            REGISTER_INVALID_PASSWORD={
                "code": ErrorCode.REGISTER_INVALID_PASSWORD,
                "reason": "Password should be at least 12 characters",
            },
        )
    }
    router.add_api_route(
        "/register",
        register,
        methods=["POST"],
        status_code=status.HTTP_201_CREATED,
        name="register:register",
        response_model=user_model,
        responses=responses,
    )
    return router
