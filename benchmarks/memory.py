"""Redis memory per outstanding token."""

from __future__ import annotations

from typing import Any

from benchmarks import settings
from benchmarks.inprocess import accounts
from fastapi_password_reset.tokens import RedisResetTokenStrategy


async def per_token(client: Any, users: int = 1000, tokens_per_user: int = 10) -> dict[str, Any]:
    """Issue ``users * tokens_per_user`` tokens on an empty server; measure what they take."""
    await client.flushall()
    before = (await client.info("memory"))["used_memory"]
    strategy = RedisResetTokenStrategy(client, key_prefix="pr", max_tokens_per_user=tokens_per_user)
    strategy.bind(settings.SECRET, 3600)
    for account in accounts(users):
        for _ in range(tokens_per_user):
            await strategy.issue_token(account)
    after = (await client.info("memory"))["used_memory"]
    key_bytes = 0
    key_count = 0
    async for key in client.scan_iter(count=1000):
        key_bytes += await client.memory_usage(key, samples=0)
        key_count += 1
    tokens = users * tokens_per_user
    return {
        "tokens": tokens,
        "users": users,
        "keys": key_count,
        "memory_usage_bytes_per_token": key_bytes / tokens,
        "used_memory_bytes_per_token": (after - before) / tokens,
        "key_prefix": strategy.key_prefix,
    }
