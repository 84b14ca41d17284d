"""The password-reset flow as one plain service, free of HTTP."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from enum import Enum
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel

from fastapi_password_reset._background import BackgroundWork
from fastapi_password_reset._events import Event, EventRecorder
from fastapi_password_reset._hooks import (
    AfterForgotPassword,
    AfterForgotPasswordUnknown,
    AfterResetPassword,
    ValidatePassword,
    call_hook,
    call_hook_logged,
    is_async_hook,
)
from fastapi_password_reset._redaction import (
    collecting_secrets,
    redacted_traceback,
    remember_secret,
)
from fastapi_password_reset.exceptions import (
    BadResetTokenError,
    PasswordNotSavedError,
    TokenRefusal,
)
from fastapi_password_reset.models import BaseUserDB
from fastapi_password_reset.tokens.base import (
    ResetTicket,
    ResetTokenStrategy,
    TokenStoreUnavailableError,
)

if TYPE_CHECKING:
    from starlette.requests import Request

logger = logging.getLogger("fastapi_password_reset")


class StoredUser(Protocol):
    """What the flow reads of a user: a pydantic ``BaseUserDB``, or an ORM object alike."""

    @property
    def id(self) -> Any: ...

    @property
    def email(self) -> str: ...

    @property
    def hashed_password(self) -> str: ...

    @property
    def is_active(self) -> bool: ...


UD = TypeVar("UD", bound=StoredUser)
UD_co = TypeVar("UD_co", bound=StoredUser, covariant=True)


class UserLookup(Protocol[UD_co]):
    """The part of a user database the flow uses (`BaseUserDatabase` has it all)."""

    async def get(self, id: Any) -> UD_co | None: ...

    async def get_by_email(self, email: str) -> UD_co | None: ...

    async def replace_password_hash(self, id: Any, old_hash: str, new_hash: str) -> bool: ...


class PasswordHasher(Protocol):
    """Hashes a new password off the event loop (`PasswordHelper` does)."""

    async def hash(self, password: str) -> str: ...


class ForgotOutcome(str, Enum):  # noqa: UP042 - str mixin, like ErrorCode
    """What became of a request for a reset mail (the client is told none of it)."""

    TOKEN_SENT = "token_sent"
    NO_ACCOUNT = "no_account"
    THROTTLED = "throttled"
    STORE_UNAVAILABLE = "store_unavailable"
    FAILED = "failed"
    HOOK_FAILED = "hook_failed"


class PasswordResetService(Generic[UD]):
    """Ask for a reset, reset with a token, check a token, issue a token from code.

    The routers only translate its outcomes into answers; an application can call it too.
    Why a reset is safe, in order:

    1. The token is read once into a ticket; the user it names must exist, be active, and
       still have the e-mail and password hash the token was issued under.
    2. The password policy runs, then the new password is hashed (off the event loop), before
       the token is spent: a refused password leaves the token usable.
    3. The strategy's consume is the first gate (Redis: one claim per token).
    4. Only the hash is written, and only if it is still the one the token was issued under
       (the user database's compare-and-set): a deactivation or e-mail change made meanwhile
       is kept, and of concurrent resets with one token, on any number of processes, exactly
       one writes. If the write fails, the token is given back.
    5. Every other token of the user dies: its fingerprint no longer matches, and the Redis
       strategy also deletes them.
    """

    def __init__(
        self,
        *,
        user_db: UserLookup[UD],
        password_helper: PasswordHasher,
        token_strategy: ResetTokenStrategy,
        validate_password: ValidatePassword | None = None,
        after_forgot_password: AfterForgotPassword[UD] | None = None,
        after_reset_password: AfterResetPassword[UD] | None = None,
        after_forgot_password_unknown: AfterForgotPasswordUnknown | None = None,
        background: BackgroundWork | None = None,
        events: EventRecorder | None = None,
    ) -> None:
        self.user_db = user_db
        self.password_helper = password_helper
        self.token_strategy = token_strategy
        self.validate_password = validate_password
        self.after_forgot_password = after_forgot_password
        self.after_reset_password = after_reset_password
        self.after_forgot_password_unknown = after_forgot_password_unknown
        # Sync after-hooks run on the background work's own threads.
        self.background = background if background is not None else BackgroundWork()
        self.events = events if events is not None else EventRecorder()
        self._decoy: BaseUserDB | Literal[False] | None = None

    async def forgot_password(self, email: str, request: Request | None = None) -> ForgotOutcome:
        """Look the address up, issue a token, call ``after_forgot_password``; never raises.

        Meant to run after the answer was sent, so that its work cannot show in the answer.
        """
        with collecting_secrets():
            try:
                user = await self.user_db.get_by_email(email)
            except Exception as exc:
                logger.error("forgot-password: user lookup failed:\n%s", redacted_traceback(exc))
                self.events.emit(Event.STORE_UNAVAILABLE, reason="user_database")
                return ForgotOutcome.FAILED
            if user is None or not user.is_active:
                self._build_decoy_user(user)
                return await self._no_account(email, request)
            # A mailer's error quotes the address, as for an unknown one; logs name the id.
            remember_secret(user.hashed_password, user.email)
            try:
                token = await self.token_strategy.issue_token(user)
            except TokenStoreUnavailableError as exc:
                logger.error(
                    "forgot-password: token store unavailable, no token for user %s (%s)",
                    user.id,
                    exc,
                )
                self.events.emit(Event.STORE_UNAVAILABLE, user_id=user.id, reason="token_store")
                return ForgotOutcome.STORE_UNAVAILABLE
            except Exception as exc:
                logger.error(
                    "forgot-password: issuing a token for user %s failed:\n%s",
                    user.id,
                    redacted_traceback(exc),
                )
                return ForgotOutcome.FAILED
            if token is None:
                self.events.emit(Event.THROTTLED, user_id=user.id)
                await self._hook_hop(self.after_forgot_password)
                return ForgotOutcome.THROTTLED
            self.events.emit(Event.TOKEN_ISSUED, user_id=user.id)
            remember_secret(token, getattr(token, "link_token", None))
            hook = self.after_forgot_password
            if hook is not None and not await call_hook_logged(
                "after_forgot_password",
                hook,
                user.id,
                user,
                token,
                request,
                run_sync=self.background.run_sync,
                events=self.events,
            ):
                # The throttle counts mails handed over: a failed one must not make the
                # user's next request silently mail nothing.
                await _logged_on_failure(
                    self.token_strategy.withdraw_token(user, token),
                    "forgot-password: could not withdraw the token of user %s whose mail failed",
                    user.id,
                )
                return ForgotOutcome.HOOK_FAILED
            return ForgotOutcome.TOKEN_SENT

    async def _no_account(self, email: str, request: Request | None) -> ForgotOutcome:
        """The same work as for an account: an issue's computation and round trip, a hook.

        So that what a forgot-password leaves running on this process after its answer does
        not tell the next request whether the address had an account.
        """
        try:
            await self.token_strategy.issue_decoy()
        except Exception as exc:
            logger.debug("forgot-password: decoy issue failed (%s)", type(exc).__name__)
        self.events.emit(Event.NO_ACCOUNT)
        remember_secret(email)  # a mailer's error quotes the address it refused
        hook = self.after_forgot_password_unknown
        if hook is None:
            await self._hook_hop(self.after_forgot_password)
        else:
            await call_hook_logged(
                "after_forgot_password_unknown",
                hook,
                None,
                email,
                request,
                run_sync=self.background.run_sync,
                events=self.events,
            )
        return ForgotOutcome.NO_ACCOUNT

    def _build_decoy_user(self, found: UD | None) -> None:
        """Copy a user model as a lookup that found one does, when this one found none.

        A found user costs the database adapter a model; without this, an unknown address
        would leave less work behind than a known one. A deep copy of a model built once is
        what the in-memory store does; validating one anew would overshoot (the e-mail check
        alone costs more than the copy).
        """
        if found is not None:
            return  # an inactive user: the lookup built one already
        model = getattr(self.user_db, "user_db_model", None)
        if self._decoy is None and model is not None:
            try:
                self._decoy = model(email="decoy@example.com", hashed_password="$argon2id$decoy")
            except Exception:  # an application model with required fields of its own
                self._decoy = False
        if self._decoy:
            self._decoy.model_copy(deep=True)

    async def _hook_hop(self, hook: object) -> None:
        """The library's part of calling ``hook``, calling nothing: a thread hop for a sync
        hook, a scheduling point for an async one."""
        if hook is None:
            return
        if is_async_hook(hook):
            await asyncio.sleep(0)
        else:
            await self.background.run_sync(_nothing)

    async def reset_password(self, token: str, password: str, *, email: str | None = None) -> UD:
        """Set a new password with a reset token; the user as now stored.

        With a strategy that ``requires_email`` (short codes), ``email`` names the account.
        Raises `BadResetTokenError`, `InvalidPasswordException` (or whatever else the policy
        raises), `TokenStoreUnavailableError` (nothing changed) or `PasswordNotSavedError`
        (the token still works).
        """
        with collecting_secrets(token, password), self._reporting_refusals():
            ticket, named = await self._read(token, email)
            user = await self._user_of(ticket, named)
            if self.validate_password is not None:
                await call_hook(self.validate_password, password, user)
            new_hash = await self.password_helper.hash(password)
            remember_secret(new_hash)
            if not await self.token_strategy.consume_token(ticket):
                raise BadResetTokenError(TokenRefusal.ALREADY_USED)
            email_checked = user.email
            await self._replace_password(ticket, user, new_hash)
            stored = await self._stored_after_write(user, new_hash)
            if stored.email != email_checked:
                await self._undo_write(user, new_hash)
                raise BadResetTokenError(TokenRefusal.ACCOUNT_CHANGED)
            await self._kill_other_tokens(stored)
            self.events.emit(Event.PASSWORD_RESET, user_id=user.id)
            return stored

    async def after_reset(self, user: UD, request: Request | None = None) -> None:
        """Call ``after_reset_password``; a failure is logged, never raised."""
        if self.after_reset_password is not None:
            with collecting_secrets(user.hashed_password, user.email):
                hook = self.after_reset_password
                await call_hook_logged(
                    "after_reset_password",
                    hook,
                    user.id,
                    user,
                    request,
                    run_sync=self.background.run_sync,
                    events=self.events,
                )

    async def check_token(self, token: str, *, email: str | None = None) -> UD:
        """The user a token would reset now, without using it; else `BadResetTokenError`.

        For a short code a wrong try counts as one of its attempts.
        """
        with collecting_secrets(token), self._reporting_refusals():
            return await self._user_of(*await self._read(token, email))

    async def issue_token(self, user: UD, *, lifetime_seconds: int | None = None) -> str:
        """A reset token for ``user`` from application code, never throttled.

        ``lifetime_seconds`` defaults to the router's lifetime. The caller delivers it.
        """
        token = await self.token_strategy.issue_token(
            user, lifetime_seconds=lifetime_seconds, throttle=False
        )
        assert token is not None, "an unthrottled issue always gives a token"
        return token

    @contextmanager
    def _reporting_refusals(self) -> Iterator[None]:
        """Report a refused token or an unreachable store as an event, then let it go on."""
        try:
            yield
        except BadResetTokenError as refused:
            self.events.emit(Event.TOKEN_REFUSED, reason=refused.reason.value)
            raise
        except TokenStoreUnavailableError:
            self.events.emit(Event.STORE_UNAVAILABLE, reason="token_store")
            raise

    async def _read(self, token: str, email: str | None) -> tuple[ResetTicket, UD | None]:
        """The ticket, and for a code the account the client named (already loaded)."""
        user_id, named = None, None
        if self.token_strategy.requires_email:
            # A code is checked against the account the client names. An address without
            # an active account is checked against nobody, at the same cost.
            if email is None:
                raise BadResetTokenError(TokenRefusal.INVALID)
            named = await self.user_db.get_by_email(email)
            if named is not None and named.is_active:
                user_id = named.id
            else:
                self._build_decoy_user(named)
        ticket: ResetTicket | None = await self.token_strategy.read_token(token, user_id=user_id)
        if ticket is None:
            raise BadResetTokenError(TokenRefusal.INVALID)
        return ticket, named

    async def _user_of(self, ticket: ResetTicket, named: UD | None = None) -> UD:
        # A code's account was loaded by address a moment ago: not a second round trip.
        loaded = named is not None and named.id == ticket.user_id
        user = named if loaded else await self.user_db.get(ticket.user_id)
        if user is None:
            raise BadResetTokenError(TokenRefusal.NO_USER)
        remember_secret(user.hashed_password, user.email)
        if not self.token_strategy.is_current(ticket, user):
            raise BadResetTokenError(TokenRefusal.ACCOUNT_CHANGED)
        if not user.is_active:
            raise BadResetTokenError(TokenRefusal.INACTIVE)
        return user

    async def _replace_password(self, ticket: ResetTicket, user: UD, new_hash: str) -> None:
        """Write the hash if unchanged since the token was read; on failure give it back."""
        try:
            replaced = await self.user_db.replace_password_hash(
                user.id, user.hashed_password, new_hash
            )
        except Exception as exc:
            logger.error(
                "reset-password: storing the new password of user %s failed:\n%s",
                user.id,
                redacted_traceback(exc),
            )
            await self._give_back(ticket, user)
            raise PasswordNotSavedError() from None
        if not isinstance(replaced, bool):
            # A database whose write is a stub (it returns None) would refuse every reset
            # as "already used": say what is wrong, and keep the token for a retry.
            logger.error(
                "reset-password: %s.replace_password_hash returned %s, not True or False: "
                "the password of user %s was not saved",
                type(self.user_db).__name__,
                type(replaced).__name__,
                user.id,
            )
            await self._give_back(ticket, user)
            raise PasswordNotSavedError()
        if not replaced:
            # Another reset wrote first, or the password changed by another path: either way
            # the token was issued for a password that is gone.
            raise BadResetTokenError(TokenRefusal.ALREADY_USED)

    async def _stored_after_write(self, user: UD, new_hash: str) -> UD:
        """The user as stored once the new hash is in, for the address check and the hooks.

        If it cannot be read back, the user as loaded with the new hash (the write itself
        succeeded, so the reset stands).
        """
        try:
            stored = await self.user_db.get(user.id)
        except Exception as exc:
            logger.error(
                "reset-password: reading user %s back after the reset failed:\n%s",
                user.id,
                redacted_traceback(exc),
            )
            stored = None
        return stored if stored is not None else _with_hash(user, new_hash)

    async def _undo_write(self, user: UD, new_hash: str) -> None:
        """The address changed while the reset ran, so the link went to an address the
        account no longer has: put the old hash back, if nothing changed it since."""
        try:
            undone = await self.user_db.replace_password_hash(
                user.id, new_hash, user.hashed_password
            )
        except Exception as exc:
            logger.error(
                "reset-password: undoing the reset of user %s, whose e-mail address changed "
                "meanwhile, failed:\n%s",
                user.id,
                redacted_traceback(exc),
            )
            return
        if undone is not True:
            logger.error(
                "reset-password: the reset of user %s, whose e-mail address changed meanwhile, "
                "could not be undone: the password changed again",
                user.id,
            )

    async def _give_back(self, ticket: ResetTicket, user: UD) -> None:
        """The password was not saved: the token works again (a failure is only logged)."""
        await _logged_on_failure(
            self.token_strategy.restore_token(ticket),
            "reset-password: could not give the token of user %s back",
            user.id,
        )

    async def _kill_other_tokens(self, user: UD) -> None:
        # The password is changed; the other tokens no longer match its fingerprint, so they
        # are dead even where they could not be deleted: a failure here is only logged.
        await _logged_on_failure(
            self.token_strategy.password_changed(user),
            "reset-password: could not revoke other tokens of user %s",
            user.id,
        )


def _with_hash(user: UD, new_hash: str) -> UD:
    """The user as now stored: a pydantic user is a copy with the new hash; an ORM object is
    the session's own, which the user database refreshed when it wrote."""
    if isinstance(user, BaseModel):
        return user.model_copy(update={"hashed_password": new_hash})
    return user


async def _logged_on_failure(work: Awaitable[None], message: str, user_id: object) -> None:
    """Await ``work``; a failure is logged redacted (``message`` names the user), not raised."""
    try:
        await work
    except Exception as exc:
        logger.error(message + ":\n%s", user_id, redacted_traceback(exc))


def _nothing() -> None:
    """What `_hook_hop` runs on a hook thread."""
