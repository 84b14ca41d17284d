"""Pydantic user models with the field names and defaults of fastapi-users 5-7.

An application subclasses them (``class User(models.BaseUser): pass``) exactly as it did with
fastapi-users; the library only relies on the fields declared here.
"""

from __future__ import annotations

import types
import typing
import uuid
from typing import Annotated, Any

from pydantic import UUID4, AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StrictBool

MAX_EMAIL_LENGTH = 320
MAX_PASSWORD_LENGTH = 1024
MAX_TOKEN_LENGTH = 1024

# The length bound is checked before the address is parsed, so a megabyte of text is refused
# cheaply with a 422 instead of being handed to the e-mail parser.
Email = Annotated[EmailStr, Field(max_length=MAX_EMAIL_LENGTH)]


def _require_encodable(password: str) -> str:
    # JSON can carry lone surrogates ("\ud800") that no hash function can encode: refuse them
    # here, as a 422, rather than fail later inside argon2.
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("password must be valid Unicode text") from None
    return password


Password = Annotated[
    str, Field(min_length=1, max_length=MAX_PASSWORD_LENGTH), AfterValidator(_require_encodable)
]


class _UserModel(BaseModel):
    """Gives an application's user models the optional fields of pydantic 1.

    fastapi-users 5-7 ran on pydantic 1, where ``first_name: Optional[str]`` was optional
    with a default of None; pydantic 2 makes such a field required. A subclass's field whose
    type admits None and that has no default gets None, so the models of a 5-7 application
    validate as they did.
    """

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        optional = [
            field
            for field in cls.model_fields.values()
            if field.is_required() and _admits_none(field.annotation)
        ]
        for field in optional:
            field.default = None
        if optional:
            cls.model_rebuild(force=True)


def _admits_none(annotation: Any) -> bool:
    if annotation is None or annotation is type(None) or annotation is Any:
        return True
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _admits_none(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return any(_admits_none(member) for member in typing.get_args(annotation))
    return False


class BaseUser(_UserModel):
    """What an application may show of a user: never the password hash."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID4 = Field(default_factory=uuid.uuid4)
    email: Email
    is_active: bool = True
    is_superuser: bool = False
    is_verified: bool = False


class BaseUserCreate(_UserModel):
    """Body of ``POST /register``.

    The flags take JSON booleans only: ``"is_verified": 0`` is a 422, not a silent false.
    """

    email: Email
    password: Password
    is_active: StrictBool = True
    is_superuser: StrictBool = False
    is_verified: StrictBool = False


class BaseUserUpdate(BaseUser):
    """A partial update: every field optional, the password included.

    It derives from `BaseUser` so that ``class UserUpdate(User, BaseUserUpdate)`` puts these
    optional fields ahead of `BaseUser`'s required ones, as in fastapi-users 5-7.
    """

    id: UUID4 | None = None  # type: ignore[assignment]
    email: Email | None = None  # type: ignore[assignment]
    password: Password | None = None
    is_active: bool | None = None  # type: ignore[assignment]
    is_superuser: bool | None = None  # type: ignore[assignment]
    is_verified: bool | None = None  # type: ignore[assignment]


class BaseUserDB(BaseUser):
    """A user as stored: adds the argon2 hash of the password."""

    hashed_password: str
