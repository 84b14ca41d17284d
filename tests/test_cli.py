"""`fastapi-password-reset revoke` run as a real command against real Redis."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from fastapi_password_reset.tokens import RedisResetTokenStrategy
from tests.conftest import SECRET, UserDB
from tests.redis_servers import RedisCluster, RedisServer

pytestmark = pytest.mark.anyio


def command() -> list[str]:
    installed = Path(sys.executable).parent / "fastapi-password-reset"
    if installed.exists():
        return [str(installed)]
    return [shutil.which("fastapi-password-reset") or "fastapi-password-reset"]


def run(*arguments: str, secret: str | None = SECRET) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "FASTAPI_PASSWORD_RESET_SECRET"}
    if secret is not None:
        env["FASTAPI_PASSWORD_RESET_SECRET"] = secret
    return subprocess.run(
        [*command(), *arguments], capture_output=True, text=True, env=env, timeout=60
    )


async def issue_tokens(client: Any, prefix: str, user: UserDB, count: int) -> list[str]:
    strategy = RedisResetTokenStrategy(client, key_prefix=prefix)
    strategy.bind(SECRET, 600)
    tokens = [await strategy.issue_token(user) for _ in range(count)]
    return [t for t in tokens if t is not None]


@pytest.mark.parametrize("store", ["redis", "redis-cluster"])
async def test_revoke_prints_how_many_tokens_it_revoked(
    store: str, request: pytest.FixtureRequest
) -> None:
    """Three tokens issued, `revoke` prints 3 and exits 0; they no longer read."""
    server: RedisServer | RedisCluster = request.getfixturevalue(
        "redis_cluster" if store == "redis-cluster" else "redis_server"
    )
    client: Any = (
        redis.asyncio.RedisCluster.from_url(server.url)
        if store == "redis-cluster"
        else redis.asyncio.Redis.from_url(server.url)
    )
    prefix = f"cli-{uuid.uuid4().hex[:8]}"
    user = UserDB(email="alice@example.com", hashed_password="$argon2id$stub")
    tokens = await issue_tokens(client, prefix, user, 3)
    cluster_flag = ["--cluster"] if store == "redis-cluster" else []
    result = run(
        "revoke", "--redis-url", server.url, "--user-id", str(user.id),
        "--key-prefix", prefix, *cluster_flag,
    )  # fmt: skip
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        f"revoked 3 tokens of user {user.id}\n",
        "",
    )
    check = RedisResetTokenStrategy(client, key_prefix=prefix)
    check.bind(SECRET, 600)
    for token in tokens:
        assert await check.read_token(token) is None
    again = run("revoke", "--redis-url", server.url, "--user-id", str(user.id),
                "--key-prefix", prefix, *cluster_flag)  # fmt: skip
    assert again.stdout == f"revoked 0 tokens of user {user.id}\n"
    await client.aclose()


UNREACHABLE = ["--redis-url", "redis://127.0.0.1:1"]
SOME_USER = ["--user-id", str(uuid.UUID(int=1))]


@pytest.mark.parametrize(
    ("arguments", "secret", "status", "message"),
    [
        (["revoke", *SOME_USER], SECRET, 2, "--redis-url"),
        (["revoke", *UNREACHABLE, "--user-id", "12"], SECRET, 2, "not a UUID"),
        (["revoke", *UNREACHABLE, *SOME_USER], None, 1, "FASTAPI_PASSWORD_RESET_SECRET"),
        (["revoke", *UNREACHABLE, *SOME_USER], "short", 1, "at least 32 bytes"),
        (["revoke", "--redis-url", "nonsense", *SOME_USER], SECRET, 1, "bad --redis-url"),
        (["revoke", *UNREACHABLE, *SOME_USER], SECRET, 1, "cannot reach Redis"),
        ([], SECRET, 2, "required"),
    ],
)
def test_bad_arguments_and_unreachable_servers_give_one_line_and_nonzero_exit(
    arguments: list[str], secret: str | None, status: int, message: str
) -> None:
    """One line on stderr, nothing on stdout, the stated exit status."""
    result = run(*arguments, secret=secret)
    assert result.returncode == status
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert message in result.stderr
    assert result.stderr.startswith("fastapi-password-reset: error: ")
