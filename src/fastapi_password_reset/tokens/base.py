"""The seam between the reset flow and the way reset tokens are made and kept."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeAlias
from uuid import UUID

from fastapi_password_reset._events import EventRecorder
from fastapi_password_reset._signing import Secret

UserId: TypeAlias = UUID | int
"""A user's id: a UUID (this library's models, fastapi-users' ``UUIDIDMixin``) or an int that
fits in 64 signed bits (``IntegerIDMixin``). A bool is not an id."""


class UserRecord(Protocol):
    """What a strategy needs of a user: who it is, and the account as a token is bound to it."""

    @property
    def id(self) -> UserId: ...

    @property
    def email(self) -> str: ...

    @property
    def hashed_password(self) -> str: ...


@dataclass(frozen=True)
class ResetTicket:
    """A token parsed and verified once, handed from read to consume to give-back.

    ``fingerprint`` is the account fingerprint the token was issued under; the service
    compares it with the user's current one before anything is spent.
    """

    user_id: UserId
    fingerprint: str


class ResetTokenStrategy(Protocol):
    """Issues, reads, uses up and revokes password-reset tokens.

    A router binds one secret and one lifetime to it before any other call. A token is read
    once into a ticket (a subclass of `ResetTicket` of the strategy's own; a ticket of another
    strategy is refused); ``consume_token`` is the gate a reset passes before it writes, and
    ``restore_token`` gives a consumed token back when the write failed. A store that cannot be
    reached raises `TokenStoreUnavailableError`.
    """

    requires_email: bool
    """Whether a reset names its account by e-mail beside the token (short codes do)."""

    def bind(
        self,
        secret: Secret,
        lifetime_seconds: int,
        *,
        min_interval_seconds: float = 0,
        events: EventRecorder | None = None,
    ) -> None:
        """The router's settings: secret, lifetime, the per-user mail throttle (0: off), and
        where to report revocations."""
        ...

    async def issue_token(
        self, user: UserRecord, *, lifetime_seconds: int | None = None, throttle: bool = True
    ) -> str | None:
        """A new token for the user, or None when throttled (only when ``throttle``)."""
        ...

    async def issue_decoy(self) -> None:
        """Do the work of an issue for nobody, storing nothing.

        Forgot-password spends it for an address without an account, so that the work left on
        the serving process after the answer does not tell the next request which it was.
        """
        ...

    async def read_token(self, token: str, *, user_id: UserId | None = None) -> ResetTicket | None:
        """The ticket of a live token; None for anything else. Loads no user.

        A strategy that ``requires_email`` (short codes) is given the id of the account the
        client named, or None for an address without one.
        """
        ...

    def is_current(self, ticket: ResetTicket, user: UserRecord) -> bool:
        """Whether the account is still as it was when the token was issued."""
        ...

    async def consume_token(self, ticket: ResetTicket) -> bool:
        """Take the token for this reset; False if another reset has it or it died."""
        ...

    async def restore_token(self, ticket: ResetTicket) -> None:
        """Give back a token taken by `consume_token` whose reset could not be stored."""
        ...

    async def password_changed(self, user: UserRecord) -> None:
        """The user's password was just reset: make every other token of theirs dead."""
        ...

    async def withdraw_token(self, user: UserRecord, token: str) -> None:
        """The mail carrying this token failed: let the token die and lift the mail throttle
        it set, so that the user's next request is mailed. A newer token is left alone."""
        ...

    async def revoke_token(self, token: str) -> bool: ...

    async def revoke_user_tokens(self, user_id: UserId | str) -> int: ...


class TokenStrategyError(Exception):
    """Base of the errors a token strategy raises."""


class StrategyNotBoundError(TokenStrategyError):
    """The strategy was used before a router gave it its secret and lifetime."""


class StrategyAlreadyBoundError(TokenStrategyError):
    """The strategy was bound a second time with another secret or lifetime."""


class RevocationNotSupportedError(TokenStrategyError):
    """Stateless tokens cannot be revoked one by one; a password change kills them all."""


class TokenStoreUnavailableError(TokenStrategyError):
    """The store that keeps tokens refused or could not answer the call.

    Connection loss, timeouts, a server that refuses writes (a demoted primary, ``OOM``,
    ``NOREPLICAS``) and cluster errors all end here, so the routes answer 503.
    """


class RevocationNotReplicatedError(TokenStoreUnavailableError):
    """A revocation was applied on the primary but fewer replicas than asked confirmed it."""

    def __init__(self, message: str, *, revoked: int) -> None:
        super().__init__(message)
        self.revoked = revoked
