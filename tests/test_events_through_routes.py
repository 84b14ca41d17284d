"""Every outcome of the flow reaches on_event, without an address or a secret."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import Request

from fastapi_password_reset import BackgroundWork, Event, ResetEvent
from fastapi_password_reset.tokens import (
    JWTResetTokenStrategy,
    RedisResetTokenStrategy,
    ResetTokenStrategy,
    TokenStoreUnavailableError,
)
from tests.conftest import NEW_PASSWORD, SECRET, UserDB, open_harness

pytestmark = pytest.mark.anyio


def kinds(events: list[ResetEvent]) -> list[tuple[Event, str | None]]:
    return [(event.event, event.reason) for event in events]


async def test_a_whole_flow_reports_each_outcome(strategy: ResetTokenStrategy) -> None:
    """Asked, issued, no account, refused, reset (and, in Redis, revoked), in order."""
    events: list[ResetEvent] = []
    async with open_harness(strategy, on_event=events.append) as harness:
        user = await harness.add_user()
        token = await harness.token_for()
        await harness.forgot("nobody@example.com")
        await harness.reset("not-a-token")
        await harness.reset(token)
        await harness.reset(token)
    revoked = (
        [(Event.TOKENS_REVOKED, None)] if isinstance(strategy, RedisResetTokenStrategy) else []
    )
    assert kinds(events) == [
        (Event.RESET_ASKED, None),
        (Event.TOKEN_ISSUED, None),
        (Event.RESET_ASKED, None),
        (Event.NO_ACCOUNT, None),
        (Event.TOKEN_REFUSED, "invalid"),
        *revoked,
        (Event.PASSWORD_RESET, None),
        (Event.TOKEN_REFUSED, "invalid" if revoked else "account_changed"),
    ]
    assert {event.user_id for event in events} <= {None, user.id}
    text = repr(events)
    assert user.email not in text and "nobody@" not in text and token not in text


async def test_throttles_hook_failures_and_store_failures_are_reported() -> None:
    """Throttled, hook_failed and store_unavailable carry the user and a fixed reason."""

    class Unreachable(JWTResetTokenStrategy):
        down = False

        async def read_token(self, token: str, *, user_id: Any = None) -> Any:
            if self.down:
                raise TokenStoreUnavailableError("connection refused")
            return await super().read_token(token)

    events: list[ResetEvent] = []
    strategy = Unreachable()
    async with open_harness(strategy, on_event=events.append, min_interval_seconds=60) as harness:
        failures = [RuntimeError("mail server said no")]

        def failing_mailer(user: UserDB, token: str, request: Request) -> None:
            if failures:  # once: a failed mail is not counted by the throttle
                raise failures.pop()

        harness.app.include_router(
            harness.users.get_reset_password_router(
                SECRET, 3600, failing_mailer, token_strategy=strategy, min_interval_seconds=60
            ),
            prefix="/failing",
        )
        user = await harness.add_user()
        for _ in range(3):  # failed, mailed, throttled
            await harness.client.post("/failing/forgot-password", json={"email": user.email})
            await harness.users.background.drain()
        strategy.down = True
        await harness.reset("any-token", NEW_PASSWORD)
    assert (Event.HOOK_FAILED, "after_forgot_password") in kinds(events)
    assert (Event.THROTTLED, None) in kinds(events)
    assert (Event.STORE_UNAVAILABLE, "token_store") in kinds(events)
    assert all(e.user_id == user.id for e in events if e.event is not Event.STORE_UNAVAILABLE
               and e.event is not Event.RESET_ASKED)  # fmt: skip


async def test_shed_jobs_are_reported() -> None:
    """A job dropped for lack of room is a job_shed event with its count."""
    events: list[ResetEvent] = []
    work = BackgroundWork(max_pending=1, max_running=1)
    release = asyncio.Event()

    async def nothing() -> None:
        return None

    async with open_harness(JWTResetTokenStrategy(), on_event=events.append, background=work):
        work.submit(release.wait)
        work.submit(nothing)
        work.submit(nothing)
        release.set()
    assert (Event.JOB_SHED, "overflow") in kinds(events)


async def test_a_store_outage_while_mailing_is_reported() -> None:
    """forgot-password with the token store down: store_unavailable, with the user."""
    from tests.test_failures import UnreachableStore

    events: list[ResetEvent] = []
    strategy = UnreachableStore()
    async with open_harness(strategy, on_event=events.append) as harness:
        user = await harness.add_user()
        strategy.down = True
        await harness.forgot(user.email)
    assert [(e.event, e.user_id, e.reason) for e in events][-1] == (
        Event.STORE_UNAVAILABLE,
        user.id,
        "token_store",
    )
