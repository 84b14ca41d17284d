"""CPU time of the work forgot-password leaves behind, per path, measured in-process.

The next-request probe sees this work through HTTP and the noise of a loaded machine; here it
is counted directly: ``PasswordResetService.forgot_password`` (the job the route hands to the
background) is awaited for an existing account's first request, for a throttled one and for an
unknown address, in random order, and the process's CPU time (every thread: a sync hook's
thread hop counts) is read around each call. The hooks do nothing (what is counted is the
library's share, and the in-memory user database's), or wait 1 ms and do nothing else (what a
hook that waits on a mail server adds to the process: a timer or a thread's wake-up).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable
from typing import Any

from benchmarks import settings
from benchmarks.stats import distinguishable
from fastapi_password_reset import FastAPIUsers, models
from fastapi_password_reset.db import InMemoryUserDatabase
from fastapi_password_reset.tokens import JWTResetTokenStrategy, RedisResetTokenStrategy

HOOK_SECONDS = 0.001
HASH = "$argon2id$v=19$m=65536,t=3,p=4$YmVuY2htYXJrLXNlZWQtc2FsdA$" + "A" * 43
KINDS = ("existing", "throttled", "unknown")


class _UserDB(models.BaseUserDB):
    pass


async def _async_noop(user: Any, token: str, request: Any) -> None:
    return None


def _sync_noop(user: Any, token: str, request: Any) -> None:
    return None


async def _async_wait(user: Any, token: str, request: Any) -> None:
    await asyncio.sleep(HOOK_SECONDS)


def _sync_wait(user: Any, token: str, request: Any) -> None:
    time.sleep(HOOK_SECONDS)


HOOKS: dict[str, Callable[..., object]] = {
    "async hook, no-op": _async_noop,
    "sync hook, no-op": _sync_noop,
    "async hook, waits 1 ms": _async_wait,
    "sync hook, waits 1 ms": _sync_wait,
}


async def _service(redis_url: str | None, hook: Callable[..., object], users: int) -> Any:
    user_db = InMemoryUserDatabase(_UserDB)
    for index in range(users):
        email = settings.user_email(index)
        await user_db.create(_UserDB(id=uuid.uuid4(), email=email, hashed_password=HASH))
    fastapi_users = FastAPIUsers(user_db, [], models.BaseUser, models.BaseUserCreate,
                                 models.BaseUserUpdate, _UserDB)  # fmt: skip
    strategy: Any = JWTResetTokenStrategy()
    if redis_url is not None:
        from redis.asyncio import Redis

        strategy = RedisResetTokenStrategy(Redis.from_url(redis_url))
    return fastapi_users.get_reset_password_service(
        settings.SECRET, 3600, hook, token_strategy=strategy
    )


async def _measure_one(service: Any, calls: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    cpu: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for index in range(-20, calls):  # 20 rounds of warm-up
        kinds = list(KINDS)
        rng.shuffle(kinds)
        for kind in kinds:
            # As in the probe: an account's first request; the previous round's account
            # (throttled); an address with no account.
            email = {
                "existing": settings.user_email(index + 20),
                "throttled": settings.user_email(index + 19),
                "unknown": settings.unknown_email(index + 20),
            }[kind]
            started = time.process_time()
            await service.forgot_password(email, None)
            used = time.process_time() - started
            if index >= 0:
                cpu[kind].append(used)
    medians = {kind: sorted(values)[len(values) // 2] * 1e6 for kind, values in cpu.items()}
    return {
        "calls_per_path": calls,
        "median_cpu_us": medians,
        **{
            f"{kind}_minus_unknown_us": medians[kind] - medians["unknown"]
            for kind in ("existing", "throttled")
        },
        **{
            f"{kind}_vs_unknown": distinguishable(cpu[kind], cpu["unknown"])
            for kind in ("existing", "throttled")
        },
    }


async def measure(
    redis_url: Callable[[int], str], calls: int, tick: Callable[[int], object]
) -> dict[str, Any]:
    results = {}
    seed = 0
    for mode, url in (("JWT", None), ("Redis", redis_url(9))):
        for label, hook in HOOKS.items():
            seed += 1
            service = await _service(url, hook, calls + 40)
            results[f"{mode}, {label}"] = await _measure_one(service, calls, seed)
            tick(1)
    return results
