"""The example's ``app/schemas.py``, for both id types."""

import uuid

from fastapi_users import schemas


class UUIDUserRead(schemas.BaseUser[uuid.UUID]):
    pass


class IntUserRead(schemas.BaseUser[int]):
    pass


class UserCreate(schemas.BaseUserCreate):
    pass


class UserUpdate(schemas.BaseUserUpdate):
    pass
