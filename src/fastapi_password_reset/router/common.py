"""What the routers share: their error codes and the OpenAPI description of error answers."""

from __future__ import annotations

from enum import Enum
from typing import Any


class ErrorCode(str, Enum):  # noqa: UP042 - str mixin as in fastapi-users
    """Stable codes carried in the ``detail`` of every error answer."""

    REGISTER_USER_ALREADY_EXISTS = "REGISTER_USER_ALREADY_EXISTS"
    REGISTER_INVALID_PASSWORD = "REGISTER_INVALID_PASSWORD"
    LOGIN_BAD_CREDENTIALS = "LOGIN_BAD_CREDENTIALS"
    RESET_PASSWORD_BAD_TOKEN = "RESET_PASSWORD_BAD_TOKEN"
    RESET_PASSWORD_INVALID_PASSWORD = "RESET_PASSWORD_INVALID_PASSWORD"
    RESET_PASSWORD_TOKEN_STORE_UNAVAILABLE = "RESET_PASSWORD_TOKEN_STORE_UNAVAILABLE"
    RESET_PASSWORD_NOT_SAVED = "RESET_PASSWORD_NOT_SAVED"


def error_examples(description: str, **examples: Any) -> dict[str, Any]:
    """An OpenAPI response entry whose examples are keyed by error code."""
    return {
        "description": description,
        "content": {
            "application/json": {
                "examples": {
                    code: {"summary": code, "value": {"detail": detail}}
                    for code, detail in examples.items()
                }
            }
        },
    }
