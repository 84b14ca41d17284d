"""User ids as they come in from an application or a shell: checked once, before any use.

An id is a `UUID` or an int within `INT_ID_RANGE` (a signed 64-bit column). A bool is an int
to Python but never an id: ``True`` would otherwise stand for user 1.
"""

from __future__ import annotations

from uuid import UUID

from fastapi_password_reset._jwt_claims import INT_ID_RANGE, parse_int_id
from fastapi_password_reset.tokens.base import UserId


def check_user_id(user_id: object) -> UserId:
    """The id itself, if it is one; TypeError for a bool or another type, ValueError for an int
    outside `INT_ID_RANGE` (no token could name it)."""
    if isinstance(user_id, UUID):
        return user_id
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        raise TypeError(f"a user id is a UUID or an int, not {type(user_id).__name__}")
    if user_id not in INT_ID_RANGE:
        raise ValueError(f"an int user id must fit in 64 signed bits: {user_id}")
    return user_id


def as_user_id(user_id: UserId | str) -> UserId:
    """A user id given as itself or as its text (from a shell, a queue, a log line).

    Text of at most 19 decimal digits (with an optional minus) is an int id; any other text
    must be a UUID in one of the forms `uuid.UUID` reads.
    """
    if not isinstance(user_id, str):
        return check_user_id(user_id)
    as_int = parse_int_id(user_id)
    if as_int is not None:
        return as_int
    try:
        return UUID(user_id)
    except ValueError:
        raise ValueError(
            f"not a user id (a UUID, or an integer of at most 19 digits that fits in 64 "
            f"signed bits): {user_id!r}"
        ) from None
