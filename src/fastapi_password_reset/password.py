"""Password hashing with argon2id, always off the event loop."""

from __future__ import annotations

import anyio.to_thread
from argon2 import Parameters, PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY

# Hashed once per helper so that a login for an unknown e-mail spends one real verification.
_DUMMY_PASSWORD = "fastapi-password-reset: no such user"  # noqa: S105 - not a credential


class PasswordHelper:
    """Hashes and verifies passwords with argon2id.

    Each hash or verify runs in a worker thread: argon2 costs tens of milliseconds by design,
    and on the event loop it would stall every other request for that long.

    ``parameters`` defaults to argon2-cffi's RFC 9106 low-memory profile; tests pass
    ``argon2.profiles.CHEAPEST``. Hashes made under other parameters still verify, and
    `verify_and_update` returns a fresh hash for them so that stored hashes follow the settings.
    """

    def __init__(self, parameters: Parameters = RFC_9106_LOW_MEMORY) -> None:
        self.parameters = parameters
        self._hasher = PasswordHasher.from_parameters(parameters)
        self._dummy_hash: str | None = None

    async def hash(self, password: str) -> str:
        """The argon2id hash of ``password``, with a fresh random salt."""
        return await anyio.to_thread.run_sync(self._hasher.hash, password)

    async def verify_and_update(
        self, password: str, hashed_password: str
    ) -> tuple[bool, str | None]:
        """Whether ``password`` matches, and a new hash when the stored one is outdated."""
        return await anyio.to_thread.run_sync(self._verify_and_update, password, hashed_password)

    async def dummy_verify(self) -> None:
        """Spend the time of one verification, so an unknown user costs what a known one does."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(_DUMMY_PASSWORD)
        await self.verify_and_update(_DUMMY_PASSWORD + "!", self._dummy_hash)

    def _verify_and_update(self, password: str, hashed_password: str) -> tuple[bool, str | None]:
        try:
            self._hasher.verify(hashed_password, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False, None
        if self._hasher.check_needs_rehash(hashed_password):
            return True, self._hasher.hash(password)
        return True, None
