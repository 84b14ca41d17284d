"""The request bodies of the reset routes, with their limits and OpenAPI examples."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from fastapi_password_reset.models import MAX_TOKEN_LENGTH, Email, Password

Token = Annotated[str, Field(min_length=1, max_length=MAX_TOKEN_LENGTH)]

_LINK_TOKEN = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI…"
_EMAIL = "king.arthur@camelot.bt"


def _example(**fields: str) -> ConfigDict:
    example: dict[str, JsonValue] = dict(fields)
    return ConfigDict(json_schema_extra={"examples": [example]})


class ForgotPasswordBody(BaseModel):
    model_config = _example(email=_EMAIL)

    email: Email


class ResetPasswordBody(BaseModel):
    """With a link token."""

    model_config = _example(token=_LINK_TOKEN, password="a new passphrase")

    token: Token
    password: Password


class ResetPasswordWithCodeBody(BaseModel):
    """With a short code: the e-mail names the account the code was sent for."""

    model_config = _example(email=_EMAIL, token="7KQ4-XMD3-9PW2", password="a new passphrase")

    email: Email
    token: Token
    password: Password


class ValidateTokenBody(BaseModel):
    model_config = _example(token=_LINK_TOKEN)

    token: Token


class ValidateCodeBody(BaseModel):
    model_config = _example(email=_EMAIL, token="7KQ4-XMD3-9PW2")

    email: Email
    token: Token
