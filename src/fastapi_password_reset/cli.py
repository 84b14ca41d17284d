"""``fastapi-password-reset revoke``: revoke a user's outstanding reset tokens from a shell."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from collections.abc import Sequence
from typing import Any, NoReturn

SECRET_ENV = "FASTAPI_PASSWORD_RESET_SECRET"  # noqa: S105 - a variable name


class CommandError(Exception):
    """A failure to report on one line, with exit status 1."""


class _OneLineErrors(argparse.ArgumentParser):
    """Reports a usage mistake on one line (``--help`` still shows the full usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"fastapi-password-reset: error: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineErrors(
        prog="fastapi-password-reset",
        description="Manage password-reset tokens kept in Redis.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    revoke = commands.add_parser(
        "revoke",
        help="revoke every outstanding reset token of one user",
        description=(
            "Revoke every outstanding reset token of one user and print how many were revoked. "
            f"The secret the application signs with is read from ${SECRET_ENV}, or from the "
            "variable named by --secret-env."
        ),
    )
    revoke.add_argument("--redis-url", required=True, help="redis://host:port/db or rediss://…")
    revoke.add_argument("--user-id", required=True, type=_user_id, help="the user's UUID")
    revoke.add_argument("--cluster", action="store_true", help="the URL names a Redis Cluster node")
    revoke.add_argument("--key-prefix", default="password-reset", help="as given to the strategy")
    revoke.add_argument("--secret-env", default=SECRET_ENV, help="variable holding the secret")
    return parser


def _user_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a UUID: {text!r}") from None


async def _revoke(arguments: argparse.Namespace) -> int:
    from redis.asyncio import Redis, RedisCluster
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    from fastapi_password_reset.exceptions import InsecureSecretError
    from fastapi_password_reset.tokens.base import TokenStoreUnavailableError
    from fastapi_password_reset.tokens.redis import RedisResetTokenStrategy

    secret = os.environ.get(arguments.secret_env)
    if not secret:
        raise CommandError(f"set ${arguments.secret_env} to the application's reset secret")
    options: dict[str, Any] = {
        "retry": Retry(NoBackoff(), 1),
        "socket_connect_timeout": 5,
        "socket_timeout": 10,
    }
    try:
        client: Redis | RedisCluster = (
            RedisCluster.from_url(arguments.redis_url, **options)
            if arguments.cluster
            else Redis.from_url(arguments.redis_url, **options)
        )
    except ValueError as exc:
        raise CommandError(f"bad --redis-url: {exc}") from None
    try:
        strategy = RedisResetTokenStrategy(client, key_prefix=arguments.key_prefix)
        # Revocation needs only the secret; the lifetime given here is never used.
        strategy.bind(secret, 1)
        return await strategy.revoke_user_tokens(arguments.user_id)
    except InsecureSecretError as exc:
        raise CommandError(str(exc)) from None
    except TokenStoreUnavailableError as exc:
        raise CommandError(f"cannot reach Redis at the given URL ({exc})") from None
    finally:
        await client.aclose()


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    try:
        revoked = asyncio.run(_revoke(arguments))
    except CommandError as exc:
        print(f"fastapi-password-reset: error: {exc}", file=sys.stderr)
        return 1
    noun = "token" if revoked == 1 else "tokens"
    print(f"revoked {revoked} {noun} of user {arguments.user_id}")
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
