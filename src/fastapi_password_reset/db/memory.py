"""A complete user database held in memory, for tests, demos and single-process apps."""

from __future__ import annotations

from pydantic import UUID4

from fastapi_password_reset.db.base import UD, BaseUserDatabase, canonical_email
from fastapi_password_reset.exceptions import UserAlreadyExistsError, UserNotFoundError


class InMemoryUserDatabase(BaseUserDatabase[UD]):
    """Stores copies of the users it is given, indexed by id and by `canonical_email`.

    Callers get copies back too, so changing a returned user changes nothing until ``update``:
    the isolation a real database gives. No method awaits anything, so each one is atomic with
    respect to other coroutines on the event loop: `replace_password_hash` is a true
    compare-and-set within the process that holds the users.
    """

    def __init__(self, user_db_model: type[UD]) -> None:
        super().__init__(user_db_model)
        self._by_id: dict[UUID4, UD] = {}
        self._id_by_email: dict[str, UUID4] = {}

    async def get(self, id: UUID4) -> UD | None:
        user = self._by_id.get(id)
        return user.model_copy(deep=True) if user is not None else None

    async def get_by_email(self, email: str) -> UD | None:
        user_id = self._id_by_email.get(canonical_email(email))
        return await self.get(user_id) if user_id is not None else None

    async def create(self, user: UD) -> UD:
        key = canonical_email(user.email)
        if key in self._id_by_email or user.id in self._by_id:
            raise UserAlreadyExistsError(user.id)
        self._by_id[user.id] = user.model_copy(deep=True)
        self._id_by_email[key] = user.id
        return user.model_copy(deep=True)

    async def update(self, user: UD) -> UD:
        stored = self._by_id.get(user.id)
        if stored is None:
            raise UserNotFoundError(user.id)
        new_key = canonical_email(user.email)
        owner = self._id_by_email.get(new_key)
        if owner is not None and owner != user.id:
            raise UserAlreadyExistsError(user.id)
        del self._id_by_email[canonical_email(stored.email)]
        self._id_by_email[new_key] = user.id
        self._by_id[user.id] = user.model_copy(deep=True)
        return user.model_copy(deep=True)

    async def replace_password_hash(self, id: UUID4, old_hash: str, new_hash: str) -> bool:
        stored = self._by_id.get(id)
        if stored is None or stored.hashed_password != old_hash:
            return False
        self._by_id[id] = stored.model_copy(update={"hashed_password": new_hash})
        return True

    async def delete(self, user: UD) -> None:
        stored = self._by_id.pop(user.id, None)
        if stored is not None:
            del self._id_by_email[canonical_email(stored.email)]

    def __len__(self) -> int:
        return len(self._by_id)
