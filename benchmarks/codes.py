"""Short codes next to link tokens: validate and reset latency, and Redis memory per code.

In process (httpx over ASGI, the same application, argon2 at the library's default RFC 9106
low-memory parameters, a real redis-server), the two strategies taking turns request by
request so that the drift of a shared machine hits both alike. Usage, standalone:
``python -m benchmarks.codes --redis-url redis://127.0.0.1:6379/0 [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from typing import Any

import httpx
import redis.asyncio
from fastapi import FastAPI, Request

from benchmarks import settings
from benchmarks.stats import summary
from fastapi_password_reset import FastAPIUsers, PasswordHelper, models
from fastapi_password_reset.db import InMemoryUserDatabase
from fastapi_password_reset.tokens import RedisResetCodeStrategy, RedisResetTokenStrategy


class User(models.BaseUser):
    pass


class UserCreate(models.BaseUserCreate):
    pass


class UserUpdate(User, models.BaseUserUpdate):
    pass


class UserDB(User, models.BaseUserDB):
    pass


class Bench:
    """One application over one strategy, with its mailbox and a client."""

    def __init__(self, strategy: Any) -> None:
        self.mails: dict[str, str] = {}
        self.users = FastAPIUsers(
            InMemoryUserDatabase(UserDB), [], User, UserCreate, UserUpdate, UserDB,
            password_helper=PasswordHelper(),
        )  # fmt: skip

        async def mail(user: UserDB, token: str, request: Request) -> None:
            self.mails[user.email] = token

        self.app = FastAPI()
        router = self.users.get_reset_password_router(
            settings.SECRET, 900, mail, token_strategy=strategy, min_interval_seconds=0
        )
        self.app.include_router(router, prefix="/auth")
        self.codes = isinstance(strategy, RedisResetCodeStrategy)
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://bench"
        )

    async def user_with_token(self, index: int) -> tuple[str, str]:
        email = f"code-bench-{index}-{uuid.uuid4().hex[:6]}@example.com"
        hashed = await self.users.password_helper.hash("an old passphrase")
        await self.users.db.create(UserDB(email=email, hashed_password=hashed))
        await self.client.post("/auth/forgot-password", json={"email": email})
        await self.users.background.drain()
        return email, self.mails[email]

    def body(self, email: str, token: str, **fields: str) -> dict[str, str]:
        return {**({"email": email} if self.codes else {}), "token": token, **fields}

    async def timed(self, path: str, body: dict[str, str], expected: int) -> float:
        started = time.perf_counter()
        answer = await self.client.post(path, json=body)
        elapsed = time.perf_counter() - started
        assert answer.status_code == expected, answer.text
        return elapsed


async def latencies(client: Any, rounds: int) -> dict[str, Any]:
    """Validate (good and wrong) and reset, codes and link tokens taking turns."""
    run = uuid.uuid4().hex[:6]
    benches = {
        "link": Bench(RedisResetTokenStrategy(client, key_prefix=f"bench-link-{run}")),
        "code": Bench(RedisResetCodeStrategy(client, key_prefix=f"bench-code-{run}")),
    }
    samples: dict[str, dict[str, list[float]]] = {
        kind: {"validate": [], "validate_wrong": [], "reset": []} for kind in benches
    }
    for index in range(rounds):
        for kind, bench in benches.items():
            email, token = await bench.user_with_token(index)
            wrong = "00000000" if kind == "code" else token[:-2] + "AA"
            if wrong == token:
                wrong = "11111111"
            good = bench.body(email, token)
            samples[kind]["validate"].append(
                await bench.timed("/auth/reset-password/validate", good, 200)
            )
            samples[kind]["validate_wrong"].append(
                await bench.timed("/auth/reset-password/validate", bench.body(email, wrong), 400)
            )
            reset = bench.body(email, token, password="a new passphrase for the bench")
            samples[kind]["reset"].append(await bench.timed("/auth/reset-password", reset, 200))
    for bench in benches.values():
        await bench.client.aclose()
    return {kind: {name: summary(values) for name, values in routes.items()}
            for kind, routes in samples.items()}  # fmt: skip


async def memory_per_code(client: Any, users: int) -> dict[str, Any]:
    """Redis memory an outstanding code takes (one per user), measured on an empty server."""
    await client.flushall()
    before = (await client.info("memory"))["used_memory"]
    strategy = RedisResetCodeStrategy(client, key_prefix="pc")
    strategy.bind(settings.SECRET, 900)
    for index in range(users):
        user = UserDB(email=f"m{index}@example.com", hashed_password="$argon2id$v=19$bench")
        await strategy.issue_token(user, throttle=False)
    after = (await client.info("memory"))["used_memory"]
    key_bytes = 0
    async for key in client.scan_iter(match="pc:*", count=1000):
        key_bytes += await client.memory_usage(key, samples=0)
    return {
        "codes": users,
        "memory_usage_bytes_per_code": key_bytes / users,
        "used_memory_bytes_per_code": (after - before) / users,
    }


async def measure(redis_url: str, quick: bool) -> dict[str, Any]:
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        return {
            "latency": await latencies(client, 8 if quick else 40),
            "memory": await memory_per_code(client, 200 if quick else 1000),
        }
    finally:
        await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--quick", action="store_true")
    arguments = parser.parse_args()
    print(json.dumps(asyncio.run(measure(arguments.redis_url, arguments.quick)), indent=2))


if __name__ == "__main__":
    main()
