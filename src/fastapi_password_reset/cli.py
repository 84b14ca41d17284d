"""``fastapi-password-reset``: count or revoke a user's outstanding reset tokens from a shell.

Exit statuses: 0 done (tokens found), 1 an error (no secret, bad URL, Redis unreachable or
refusing the password, ``--cluster`` wrong, the ``redis`` extra not installed), 2 a usage
mistake, 3 no token found for the user, which also happens when the key prefix, the database
or the secret differs from the application's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlsplit

from fastapi_password_reset._install import install_hint
from fastapi_password_reset.tokens._user_ids import as_user_id
from fastapi_password_reset.tokens.base import UserId

if TYPE_CHECKING:
    from redis.asyncio import Redis, RedisCluster

    from fastapi_password_reset.tokens.base import TokenStoreUnavailableError

PROG = "fastapi-password-reset"
SECRET_ENV = "FASTAPI_PASSWORD_RESET_SECRET"  # noqa: S105 - a variable name
URL_ENV = "REDIS_URL"
PASSWORD_ENV = "REDIS_PASSWORD"  # noqa: S105 - a variable name

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3

# Revocation and counting use only the secret (the keys are named after a keyed hash of the
# user id); `bind` wants a lifetime all the same, and this one is never used.
UNUSED_LIFETIME_SECONDS = 3600


class CommandError(Exception):
    """A failure to report on one line, with exit status 1."""


@dataclass(frozen=True)
class Outcome:
    """What the command found: how many tokens, and where it looked."""

    count: int
    where: str


class _OneLineErrors(argparse.ArgumentParser):
    """Reports a usage mistake on one line (``--help`` still shows the full usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{PROG}: error: {message} (see --help)\n")


def _version() -> str:
    try:
        return metadata.version("fastapi-password-reset")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a bare source tree
        return "unknown"


EPILOG = (
    "exit status: 0 tokens found (and revoked, unless counting); 1 error; 2 usage; "
    "3 no token found for the user (also what a wrong --key-prefix, database or secret gives, "
    "or a missing --codes)"
)


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineErrors(
        prog=PROG,
        description="Count or revoke a user's password-reset tokens kept in Redis.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    common = _OneLineErrors(add_help=False)
    common.add_argument(
        "--redis-url",
        default=None,
        help=f"redis://[user@]host:port/db or rediss://… (default: ${URL_ENV})",
    )
    common.add_argument(
        "--user-id",
        required=True,
        type=_user_id,
        metavar="ID",
        help="the user's id: a UUID, or an integer of at most 19 digits",
    )
    common.add_argument("--cluster", action="store_true", help="the URL names a Redis Cluster node")
    common.add_argument("--key-prefix", default="password-reset", help="as given to the strategy")
    common.add_argument(
        "--codes",
        action="store_true",
        help="the application uses RedisResetCodeStrategy (short codes), not link tokens",
    )
    common.add_argument(
        "--secret-env",
        default=SECRET_ENV,
        metavar="NAME",
        help=f"variable holding the application's reset secret (default: {SECRET_ENV})",
    )
    common.add_argument(
        "--password-env",
        default=None,
        metavar="NAME",
        help=(
            f"variable holding the Redis password (default: {PASSWORD_ENV}, if set); "
            "a password in the URL takes precedence"
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    secret_note = (
        f"The secret the application signs with is read from ${SECRET_ENV}, or from the "
        "variable named by --secret-env; never from the command line."
    )
    revoke = commands.add_parser(
        "revoke",
        parents=[common],
        help="revoke every outstanding reset token of one user",
        description="Revoke every outstanding reset token of one user; print how many. "
        + secret_note,
        epilog=EPILOG,
    )
    revoke.add_argument(
        "--dry-run", action="store_true", help="count what would be revoked, revoke nothing"
    )
    commands.add_parser(
        "count",
        parents=[common],
        help="count the outstanding reset tokens of one user, revoking nothing",
        description="Print how many outstanding reset tokens one user has. " + secret_note,
        epilog=EPILOG,
    )
    return parser


def _user_id(text: str) -> UserId:
    try:
        return as_user_id(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _server(url: str) -> str:
    """Where the URL points, without its user name or password: host:port or a socket path."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    try:
        port = parts.port or 6379
    except ValueError:
        port = 6379
    host = parts.hostname or "localhost"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _password(arguments: argparse.Namespace) -> str | None:
    name = arguments.password_env
    if name is None:
        return os.environ.get(PASSWORD_ENV) or None
    password = os.environ.get(name)
    if not password:
        raise CommandError(f"set ${name} to the Redis password (named by --password-env)")
    return password


def _require_redis_py() -> None:
    """Refuse to run, on one line, where the ``redis`` extra is not installed.

    The console script is installed with the package whatever its extras, so "no module named
    redis" is what a newcomer meets first; a traceback would not say what to install.
    """
    try:
        import redis.asyncio  # noqa: F401 - imported to see whether it can be
    except ImportError as missing:
        if (missing.name or "").split(".")[0] != "redis":
            raise  # redis-py is there but broken: its own error says more than ours would
        raise CommandError(f"this command needs redis-py: {install_hint('redis')}") from None


async def _run(arguments: argparse.Namespace, url: str) -> Outcome:
    _require_redis_py()
    from redis.asyncio import Redis, RedisCluster
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    from fastapi_password_reset._signing import secret_bytes
    from fastapi_password_reset.exceptions import InsecureSecretError
    from fastapi_password_reset.tokens.base import TokenStoreUnavailableError
    from fastapi_password_reset.tokens.redis import RedisResetTokenStrategy
    from fastapi_password_reset.tokens.redis_codes import RedisResetCodeStrategy

    secret = os.environ.get(arguments.secret_env)
    if not secret:
        raise CommandError(f"set ${arguments.secret_env} to the application's reset secret")
    try:
        # Checked here, not by the strategy's bind, so that the message names the variable
        # the secret came from rather than the router's reset_password_token_secret.
        secret_bytes(secret, name=f"${arguments.secret_env}")
    except InsecureSecretError as exc:
        raise CommandError(str(exc)) from None
    options: dict[str, Any] = {
        "retry": Retry(NoBackoff(), 1),
        "socket_connect_timeout": 5,
        "socket_timeout": 10,
    }
    password = _password(arguments)
    if password is not None:
        options["password"] = password
    try:
        client: Redis | RedisCluster = (
            RedisCluster.from_url(url, **options)
            if arguments.cluster
            else Redis.from_url(url, **options)
        )
    except ValueError as exc:
        raise CommandError(f"bad --redis-url: {exc}") from None
    server = _server(url)
    # What to check when nothing is found: codes live under other keys than link tokens.
    codes = "" if arguments.codes else "; add --codes if the application sends reset codes"
    if isinstance(client, RedisCluster):
        where = f"on the Redis Cluster at {server} (check --key-prefix and the secret{codes})"
    else:
        database = client.connection_pool.connection_kwargs.get("db", 0)
        where = (
            f"in database {database} at {server} "
            f"(check --key-prefix, the database in the URL and the secret{codes})"
        )
    try:
        kind = RedisResetCodeStrategy if arguments.codes else RedisResetTokenStrategy
        strategy = kind(client, key_prefix=arguments.key_prefix)
        strategy.bind(secret, UNUSED_LIFETIME_SECONDS)
        await strategy.ping()
        if isinstance(client, Redis) and await _cluster_enabled(client):
            raise CommandError(f"the server at {server} is a Redis Cluster node (add --cluster)")
        if arguments.command == "count" or arguments.dry_run:
            count = await strategy.count_user_tokens(arguments.user_id)
        else:
            count = await strategy.revoke_user_tokens(arguments.user_id)
        return Outcome(count, where)
    except TokenStoreUnavailableError as exc:
        raise CommandError(await _diagnose(exc, arguments, url, options)) from None
    finally:
        await _close(client)


async def _close(client: Redis | RedisCluster) -> None:
    from redis.asyncio import RedisCluster

    await client.aclose()
    if isinstance(client, RedisCluster):
        # redis-py 8 skips closing a cluster client whose last command failed to connect.
        await client.nodes_manager.aclose()
        await client.nodes_manager.aclose("startup_nodes")


async def _cluster_enabled(client: Redis) -> bool | None:
    """Whether the server runs in cluster mode; None when it cannot tell (INFO refused)."""
    from redis.exceptions import RedisError

    try:
        info = await client.info("cluster")
    except (RedisError, OSError):
        return None
    return bool(int(info.get("cluster_enabled", 0)))


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and every exception it came from, by cause or context."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


async def _diagnose(
    failure: TokenStoreUnavailableError,
    arguments: argparse.Namespace,
    url: str,
    options: dict[str, Any],
) -> str:
    """One line saying what went wrong: credentials, cluster mode, or an unreachable server."""
    from redis.asyncio import Redis
    from redis.exceptions import AuthenticationError, ResponseError

    server = _server(url)
    causes = _causes(failure)
    if any(isinstance(cause, AuthenticationError) for cause in causes):
        return (
            f"Redis at {server} refused the credentials (give the password in ${PASSWORD_ENV} "
            "or in the variable named by --password-env)"
        )
    redirected = any(
        isinstance(cause, ResponseError) and str(cause).split(" ")[0] in {"MOVED", "ASK"}
        for cause in causes
    )
    if not arguments.cluster and redirected:
        return f"the server at {server} is a Redis Cluster node (add --cluster)"
    refused = any(isinstance(cause, ResponseError) for cause in causes)
    if arguments.cluster and refused:
        # redis-py's "Cluster mode is not enabled on this node", or a cluster refusing us:
        # ask the server itself.
        plain = Redis.from_url(url, **options)
        try:
            enabled = await _cluster_enabled(plain)
        finally:
            await plain.aclose()
        if enabled is False:
            return f"the server at {server} is not a Redis Cluster (drop --cluster)"
    return f"cannot reach Redis at {server} ({failure})"


def _report(arguments: argparse.Namespace, outcome: Outcome) -> int:
    user, count = arguments.user_id, outcome.count
    if count == 0:
        print(
            f"{PROG}: no tokens found for user {user} under key prefix "
            f"{arguments.key_prefix} {outcome.where}",
            file=sys.stderr,
        )
        return EXIT_NOT_FOUND
    noun = "token" if count == 1 else "tokens"
    if arguments.command == "count":
        print(f"{count} live {noun} of user {user}")
    elif arguments.dry_run:
        print(f"would revoke {count} {noun} of user {user}")
    else:
        print(f"revoked {count} {noun} of user {user}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    arguments = parser.parse_args(argv)
    url = arguments.redis_url or os.environ.get(URL_ENV)
    if not url:
        parser.error(f"give --redis-url or set ${URL_ENV}")
    try:
        outcome = asyncio.run(_run(arguments, url))
    except CommandError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return _report(arguments, outcome)


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
