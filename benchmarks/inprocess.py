"""Token issue + consume operations per second, in-process, next to raw redis-py."""

from __future__ import annotations

import secrets
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from benchmarks import settings
from fastapi_password_reset.tokens import (
    JWTResetTokenStrategy,
    RedisResetTokenStrategy,
    _redis_scripts,
)

LIFETIME = 3600


@dataclass(frozen=True)
class Account:
    id: uuid.UUID
    email: str
    hashed_password: str


def accounts(count: int) -> list[Account]:
    hashed = "$argon2id$v=19$m=65536,t=3,p=4$bench"
    return [Account(uuid.uuid4(), f"user{i}@example.com", hashed) for i in range(count)]


async def rate(operation: Callable[[int], Awaitable[object]], seconds: float) -> float:
    """Operations per second of ``operation(i)`` run back to back for about ``seconds``."""
    for i in range(50):  # warm-up
        await operation(i)
    done, started = 0, time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        for _ in range(100):
            await operation(50 + done)
            done += 1
    return done / (time.perf_counter() - started)


async def library_rate(strategy: Any, seconds: float, pool: list[Account]) -> float:
    async def issue_and_consume(i: int) -> None:
        user = pool[i % len(pool)]
        ticket = await strategy.read_token(await strategy.issue_token(user))
        if ticket is None or not await strategy.consume_token(ticket):
            raise RuntimeError("a fresh token was not consumed")

    return await rate(issue_and_consume, seconds)


async def raw_floor_rate(client: Any, seconds: float, prefix: str) -> float:
    """The same three round trips (issue, read, consume) with nothing but redis-py: the floor."""
    issue = client.register_script(_redis_scripts.ISSUE_TOKEN)
    consume = client.register_script(_redis_scripts.CONSUME_TOKEN)

    async def issue_and_consume(i: int) -> None:
        # A new user each time, as in library_rate: the server does the same work for both.
        tag, digest = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        user_prefix = f"{prefix}:{{{tag}}}:"
        live = user_prefix + "t:" + digest
        value = "0" * 32 + ":" + "f" * 22
        keys = [user_prefix + "u", live, user_prefix + "i"]
        await issue(keys=keys, args=[digest, value, LIFETIME * 1000, 5, 0, user_prefix])
        await client.hmget(live, ["v", "l"])
        if not await consume(keys=[live], args=[value, digest, 30_000]):
            raise RuntimeError("raw consume failed")

    return await rate(issue_and_consume, seconds)


async def measure(
    single: Any, cluster: Any, seconds: float, tick: Callable[[int], object], rounds: int = 7
) -> dict[str, Any]:
    """Library and floor alternate in short rounds, so that the drift of a shared machine
    hits both alike; the medians of the rounds are compared."""
    pool = accounts(400_000)
    results: dict[str, Any] = {}
    jwt = JWTResetTokenStrategy()
    jwt.bind(settings.SECRET, LIFETIME)
    results["jwt"] = await library_rate(jwt, seconds, pool)
    tick(1)
    for name, client in (("redis", single), ("redis_cluster", cluster)):
        prefix = f"bench-{uuid.uuid4().hex[:6]}"
        strategy = RedisResetTokenStrategy(client, key_prefix=prefix)
        strategy.bind(settings.SECRET, LIFETIME)
        library_rounds, floor_rounds = [], []
        for _ in range(rounds):
            library_rounds.append(await library_rate(strategy, seconds / rounds, pool))
            floor_rounds.append(await raw_floor_rate(client, seconds / rounds, prefix + "-raw"))
        library, floor = statistics.median(library_rounds), statistics.median(floor_rounds)
        results[name] = {
            "library_ops_per_second": library,
            "raw_redis_py_ops_per_second": floor,
            "overhead_over_floor": floor / library - 1,
            "rounds": {"library": library_rounds, "floor": floor_rounds},
        }
        tick(1)
    return results
