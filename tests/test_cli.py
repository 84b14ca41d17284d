"""Operations from outside the application: the `fastapi-password-reset` command run as a real
process against real Redis, and a standalone script using only public calls."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from fastapi_password_reset.tokens import RedisResetTokenStrategy
from tests.conftest import SECRET, UserDB, unique_prefix
from tests.redis_servers import RedisCluster, RedisServer

pytestmark = pytest.mark.anyio

REDIS_PASSWORD = "a-redis-password-for-the-cli-tests"
NOT_FOUND = 3


def command() -> list[str]:
    installed = Path(sys.executable).parent / "fastapi-password-reset"
    if installed.exists():
        return [str(installed)]
    return [shutil.which("fastapi-password-reset") or "fastapi-password-reset"]


def run(
    *arguments: str, secret: str | None = SECRET, **environment: str
) -> subprocess.CompletedProcess[str]:
    """The command with the given arguments, the secret and ``environment`` as its only
    settings from the environment."""
    inherited = {"FASTAPI_PASSWORD_RESET_SECRET", "REDIS_URL", "REDIS_PASSWORD"}
    env = {k: v for k, v in os.environ.items() if k not in inherited}
    if secret is not None:
        env["FASTAPI_PASSWORD_RESET_SECRET"] = secret
    env.update(environment)
    return subprocess.run(
        [*command(), *arguments], capture_output=True, text=True, env=env, timeout=60
    )


def outcome(result: subprocess.CompletedProcess[str]) -> tuple[int, str, str]:
    return result.returncode, result.stdout, result.stderr


def new_user(email: str = "alice@example.com") -> UserDB:
    return UserDB(email=email, hashed_password="$argon2id$stub")


async def issue_tokens(client: Any, prefix: str, user: UserDB, count: int) -> list[str]:
    strategy = RedisResetTokenStrategy(client, key_prefix=prefix)
    strategy.bind(SECRET, 600)
    tokens = [await strategy.issue_token(user) for _ in range(count)]
    return [t for t in tokens if t is not None]


async def live(client: Any, prefix: str, tokens: list[str]) -> int:
    """How many of the tokens still read, as the application would read them."""
    strategy = RedisResetTokenStrategy(client, key_prefix=prefix)
    strategy.bind(SECRET, 600)
    return sum([await strategy.read_token(token) is not None for token in tokens])


def store_of(store: str, request: pytest.FixtureRequest) -> tuple[RedisServer | RedisCluster, Any]:
    """The named real store (a server or a cluster), a client on it."""
    if store == "redis-cluster":
        cluster: RedisCluster = request.getfixturevalue("redis_cluster")
        return cluster, redis.asyncio.RedisCluster.from_url(cluster.url)
    server: RedisServer = request.getfixturevalue("redis_server")
    return server, redis.asyncio.Redis.from_url(server.url)


# What a run without --codes that found nothing adds to where it looked.
CODES = "; add --codes if the application sends reset codes"


def not_found(user: UserDB, prefix: str, where: str) -> str:
    return (
        f"fastapi-password-reset: no tokens found for user {user.id} "
        f"under key prefix {prefix} {where}\n"
    )


# A standalone script: public calls only, the same secret and key prefix as the application.


async def test_a_script_counts_and_revokes_with_only_the_secret_and_a_uuid_string(
    redis_client: Any,
) -> None:
    """A strategy bound with another lifetime counts and revokes the app's tokens by id text."""
    prefix, user, other = unique_prefix(), new_user(), new_user("bob@example.com")
    tokens = await issue_tokens(redis_client, prefix, user, 3)
    others = await issue_tokens(redis_client, prefix, other, 1)
    script = RedisResetTokenStrategy(redis_client, key_prefix=prefix)
    script.bind(SECRET, 1)  # not the application's 600 s: revocation needs only the secret
    assert await script.count_user_tokens(str(user.id)) == 3
    assert await script.count_user_tokens(user.id) == 3
    assert await live(redis_client, prefix, tokens) == 3  # counting revoked nothing
    assert await script.revoke_user_tokens(str(user.id)) == 3
    assert await live(redis_client, prefix, tokens) == 0
    assert await script.count_user_tokens(str(user.id)) == 0
    assert await live(redis_client, prefix, others) == 1
    assert await script.count_user_tokens(other.id) == 1


async def test_the_count_is_what_revocation_would_revoke(redis_client: Any) -> None:
    """A token revoked one by one, or dropped as surplus, is not counted; a used one is."""
    prefix, user = unique_prefix(), new_user()
    strategy = RedisResetTokenStrategy(redis_client, key_prefix=prefix, max_tokens_per_user=2)
    strategy.bind(SECRET, 600)
    tokens = [await strategy.issue_token(user) for _ in range(3)]  # the first is surplus
    assert all(tokens) and await strategy.count_user_tokens(user.id) == 2
    assert tokens[1] is not None and await strategy.revoke_token(tokens[1])
    assert await strategy.count_user_tokens(user.id) == 1
    assert tokens[2] is not None
    ticket = await strategy.read_token(tokens[2])
    assert ticket is not None and await strategy.consume_token(ticket)  # a reset holds it
    assert await strategy.count_user_tokens(user.id) == 1
    assert await strategy.revoke_user_tokens(user.id) == 1


async def test_a_user_id_that_is_neither_a_uuid_nor_an_integer_is_a_value_error(
    redis_client: Any,
) -> None:
    """Text that is no UUID and no 64-bit integer is refused before Redis is asked."""
    strategy = RedisResetTokenStrategy(redis_client, key_prefix=unique_prefix())
    strategy.bind(SECRET, 600)
    for call in (strategy.count_user_tokens, strategy.revoke_user_tokens):
        for text in ("12x", "1" * 20, "9223372036854775808"):
            with pytest.raises(ValueError, match="not a user id"):
                await call(text)


# The command.


@pytest.mark.parametrize("store", ["redis", "redis-cluster"])
async def test_revoke_prints_how_many_tokens_it_revoked(
    store: str, request: pytest.FixtureRequest
) -> None:
    """Three tokens issued, `revoke` prints 3 and exits 0; they no longer read."""
    server, client = store_of(store, request)
    prefix, user = unique_prefix(), new_user()
    tokens = await issue_tokens(client, prefix, user, 3)
    cluster_flag = ["--cluster"] if store == "redis-cluster" else []
    arguments = ["--redis-url", server.url, "--user-id", str(user.id), "--key-prefix", prefix]
    result = run("revoke", *arguments, *cluster_flag)
    assert outcome(result) == (0, f"revoked 3 tokens of user {user.id}\n", "")
    assert await live(client, prefix, tokens) == 0
    await client.aclose()


@pytest.mark.parametrize("store", ["redis", "redis-cluster"])
async def test_count_and_dry_run_count_without_revoking(
    store: str, request: pytest.FixtureRequest
) -> None:
    """`count` and `revoke --dry-run` print the number, revoke nothing, exit 0."""
    server, client = store_of(store, request)
    prefix, user = unique_prefix(), new_user()
    tokens = await issue_tokens(client, prefix, user, 2)
    await issue_tokens(client, prefix, new_user("bob@example.com"), 1)
    cluster_flag = ["--cluster"] if store == "redis-cluster" else []
    arguments = ["--redis-url", server.url, "--user-id", str(user.id), "--key-prefix", prefix]
    counted = run("count", *arguments, *cluster_flag)
    assert outcome(counted) == (0, f"2 live tokens of user {user.id}\n", "")
    dry = run("revoke", "--dry-run", *arguments, *cluster_flag)
    assert outcome(dry) == (0, f"would revoke 2 tokens of user {user.id}\n", "")
    assert await live(client, prefix, tokens) == 2
    await client.aclose()


@dataclass(frozen=True)
class IntUser:
    """A user whose id is an int, as with fastapi-users' IntegerIDMixin."""

    id: int
    email: str = "carol@example.com"
    hashed_password: str = "$argon2id$stub"


@pytest.mark.parametrize("store", ["redis", "redis-cluster"])
async def test_an_integer_user_id_is_counted_and_revoked(
    store: str, request: pytest.FixtureRequest
) -> None:
    """--user-id 42 reaches the tokens of the user whose id is the int 42, and no one else's."""
    server, client = store_of(store, request)
    prefix = unique_prefix()
    strategy = RedisResetTokenStrategy(client, key_prefix=prefix)
    strategy.bind(SECRET, 600)
    tokens = [await strategy.issue_token(IntUser(42)) for _ in range(2)]
    assert all(tokens)
    others = await issue_tokens(client, prefix, new_user(), 1)
    cluster_flag = ["--cluster"] if store == "redis-cluster" else []
    arguments = ["--redis-url", server.url, "--user-id", "42", "--key-prefix", prefix]
    counted = run("count", *arguments, *cluster_flag)
    assert outcome(counted) == (0, "2 live tokens of user 42\n", "")
    revoked = run("revoke", *arguments, *cluster_flag)
    assert outcome(revoked) == (0, "revoked 2 tokens of user 42\n", "")
    assert await live(client, prefix, [t for t in tokens if t is not None]) == 0
    assert await live(client, prefix, others) == 1
    await client.aclose()


def test_the_help_of_a_command_says_which_user_ids_it_takes() -> None:
    """`revoke --help` names both forms of --user-id."""
    result = run("revoke", "--help", secret=None)
    assert result.returncode == 0
    assert "a UUID, or an integer" in " ".join(result.stdout.split())


@pytest.mark.parametrize("store", ["redis", "redis-cluster"])
async def test_nothing_found_says_where_it_looked_and_exits_3(
    store: str, request: pytest.FixtureRequest
) -> None:
    """A wrong secret or key prefix finds nothing: stderr names prefix and database, status 3."""
    server, client = store_of(store, request)
    prefix, user = unique_prefix(), new_user()
    tokens = await issue_tokens(client, prefix, user, 2)
    port = server.url.rsplit(":", 1)[1].split("/")[0]
    cluster = store == "redis-cluster"
    where = (
        f"on the Redis Cluster at 127.0.0.1:{port} (check --key-prefix and the secret{CODES})"
        if cluster
        else f"in database 0 at 127.0.0.1:{port} "
        f"(check --key-prefix, the database in the URL and the secret{CODES})"
    )
    cluster_flag = ["--cluster"] if cluster else []
    user_id = ["--redis-url", server.url, "--user-id", str(user.id), *cluster_flag]
    for command_line in (["revoke"], ["count"], ["revoke", "--dry-run"]):
        wrong_prefix = run(*command_line, *user_id, "--key-prefix", f"{prefix}-other")
        assert outcome(wrong_prefix) == (NOT_FOUND, "", not_found(user, f"{prefix}-other", where))
    wrong_secret = run("revoke", *user_id, "--key-prefix", prefix, secret=SECRET + "-other")
    assert outcome(wrong_secret) == (NOT_FOUND, "", not_found(user, prefix, where))
    assert await live(client, prefix, tokens) == 2
    first = run("revoke", *user_id, "--key-prefix", prefix)
    assert first.returncode == 0
    again = run("revoke", *user_id, "--key-prefix", prefix)
    assert outcome(again) == (NOT_FOUND, "", not_found(user, prefix, where))
    await client.aclose()


async def test_the_wrong_database_is_named(redis_server: RedisServer) -> None:
    """Tokens in database 0, the URL names 1: nothing found "in database 1", status 3."""
    client = redis.asyncio.Redis.from_url(redis_server.url)
    prefix, user = unique_prefix(), new_user()
    await issue_tokens(client, prefix, user, 1)
    other_database = redis_server.url.rsplit("/", 1)[0] + "/1"
    result = run(
        "count", "--redis-url", other_database, "--user-id", str(user.id), "--key-prefix", prefix
    )
    where = (
        f"in database 1 at 127.0.0.1:{redis_server.port} "
        f"(check --key-prefix, the database in the URL and the secret{CODES})"
    )
    assert outcome(result) == (NOT_FOUND, "", not_found(user, prefix, where))
    await client.aclose()


async def test_the_url_comes_from_redis_url_when_not_given(redis_server: RedisServer) -> None:
    """Without --redis-url, $REDIS_URL names the server."""
    client = redis.asyncio.Redis.from_url(redis_server.url)
    prefix, user = unique_prefix(), new_user()
    await issue_tokens(client, prefix, user, 1)
    result = run(
        "revoke", "--user-id", str(user.id), "--key-prefix", prefix, REDIS_URL=redis_server.url
    )
    assert outcome(result) == (0, f"revoked 1 token of user {user.id}\n", "")
    await client.aclose()


@pytest.fixture(scope="module")
def password_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server of this module's own that wants a password."""
    server = RedisServer(tmp_path_factory.mktemp("redis-with-password"))
    server.start()
    server.cli("CONFIG", "SET", "requirepass", REDIS_PASSWORD)
    yield server
    server.stop()


async def test_the_redis_password_comes_from_the_environment(
    password_server: RedisServer,
) -> None:
    """$REDIS_PASSWORD, or the variable --password-env names; never the command line."""
    client = redis.asyncio.Redis.from_url(password_server.url, password=REDIS_PASSWORD)
    prefix, user = unique_prefix(), new_user()
    await issue_tokens(client, prefix, user, 2)
    arguments = ["--redis-url", password_server.url, "--user-id", str(user.id)]
    arguments += ["--key-prefix", prefix]
    by_default = run("count", *arguments, REDIS_PASSWORD=REDIS_PASSWORD)
    assert outcome(by_default) == (0, f"2 live tokens of user {user.id}\n", "")
    named = run("revoke", *arguments, "--password-env", "MY_REDIS_PW", MY_REDIS_PW=REDIS_PASSWORD)
    assert outcome(named) == (0, f"revoked 2 tokens of user {user.id}\n", "")
    await client.aclose()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "refused the credentials"),
        ({"REDIS_PASSWORD": "not-the-password"}, "refused the credentials"),
        ({"--password-env": "UNSET_VARIABLE"}, "set $UNSET_VARIABLE to the Redis password"),
    ],
    ids=["none", "wrong", "unset-variable"],
)
def test_a_missing_or_wrong_redis_password_is_said_so(
    password_server: RedisServer, settings: dict[str, str], message: str
) -> None:
    """No password, a wrong one, or a variable that is not set: one line, status 1."""
    options = ["--password-env", settings["--password-env"]] if "--password-env" in settings else []
    environment = {k: v for k, v in settings.items() if not k.startswith("--")}
    user = ["--user-id", str(uuid.UUID(int=1))]
    result = run("count", "--redis-url", password_server.url, *user, *options, **environment)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith("fastapi-password-reset: error: ")
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert "not-the-password" not in result.stderr


def test_a_password_in_the_url_is_never_printed(password_server: RedisServer) -> None:
    """A URL holding a wrong password: the message names host and port, not the password."""
    url = password_server.url.replace("redis://", "redis://:wrong-secret-in-url@")
    result = run("revoke", "--redis-url", url, "--user-id", str(uuid.UUID(int=1)))
    assert result.returncode == 1
    assert f"127.0.0.1:{password_server.port}" in result.stderr
    assert "wrong-secret-in-url" not in result.stderr


def test_cluster_flag_against_a_plain_server_says_drop_it(redis_server: RedisServer) -> None:
    """--cluster on a server without cluster mode: not "cannot reach Redis", but what to do."""
    user = ["--user-id", str(uuid.UUID(int=1))]
    result = run("count", "--cluster", "--redis-url", redis_server.url, *user)
    assert outcome(result) == (
        1,
        "",
        "fastapi-password-reset: error: the server at "
        f"127.0.0.1:{redis_server.port} is not a Redis Cluster (drop --cluster)\n",
    )


def test_a_cluster_node_without_the_flag_says_add_it(redis_cluster: RedisCluster) -> None:
    """A cluster node without --cluster: told to add it, whichever node holds the user's keys."""
    for user_id in (uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=3)):
        result = run("revoke", "--redis-url", redis_cluster.url, "--user-id", str(user_id))
        assert outcome(result) == (
            1,
            "",
            "fastapi-password-reset: error: the server at "
            f"127.0.0.1:{redis_cluster.nodes[0].port} is a Redis Cluster node (add --cluster)\n",
        )


def test_version_prints_the_installed_version() -> None:
    """--version prints the distribution's version and exits 0."""
    result = run("--version", secret=None)
    expected = f"fastapi-password-reset {metadata.version('fastapi-password-reset')}\n"
    assert outcome(result) == (0, expected, "")


def test_help_lists_both_commands_and_the_exit_statuses() -> None:
    """--help names revoke and count and explains status 3."""
    result = run("--help", secret=None)
    assert result.returncode == 0
    for text in ("revoke", "count", "3 no token found"):
        assert text in result.stdout


UNREACHABLE = ["--redis-url", "redis://127.0.0.1:1"]
SOME_USER = ["--user-id", str(uuid.UUID(int=1))]


@pytest.mark.parametrize(
    ("arguments", "secret", "status", "message"),
    [
        (["revoke", *SOME_USER], SECRET, 2, "give --redis-url or set $REDIS_URL"),
        (["count", *SOME_USER], SECRET, 2, "give --redis-url or set $REDIS_URL"),
        (["revoke", *UNREACHABLE, "--user-id", "12x"], SECRET, 2, "not a user id (a UUID, or"),
        (["count", *UNREACHABLE], SECRET, 2, "--user-id"),
        (["count", *UNREACHABLE, *SOME_USER, "--dry-run"], SECRET, 2, "--dry-run"),
        (["revoke", *UNREACHABLE, *SOME_USER], None, 1, "FASTAPI_PASSWORD_RESET_SECRET"),
        (["revoke", *UNREACHABLE, *SOME_USER], "short", 1, "at least 32 bytes"),
        (["revoke", "--redis-url", "nonsense", *SOME_USER], SECRET, 1, "bad --redis-url"),
        (["revoke", *UNREACHABLE, *SOME_USER], SECRET, 1, "cannot reach Redis at 127.0.0.1:1"),
        (["count", *UNREACHABLE, *SOME_USER, "--cluster"], SECRET, 1, "cannot reach Redis"),
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


@pytest.mark.parametrize(
    ("settings", "variable"),
    [
        ({"secret": "short"}, "$FASTAPI_PASSWORD_RESET_SECRET"),
        ({"--secret-env": "MY_RESET_SECRET", "MY_RESET_SECRET": "short"}, "$MY_RESET_SECRET"),
    ],
    ids=["default-variable", "secret-env"],
)
def test_a_short_secret_is_named_by_the_variable_it_came_from(
    settings: dict[str, str], variable: str
) -> None:
    """The error names the variable that held the short secret, and no other."""
    options = ["--secret-env", settings["--secret-env"]] if "--secret-env" in settings else []
    environment = {k: v for k, v in settings.items() if k not in {"secret", "--secret-env"}}
    result = run(
        "revoke", *UNREACHABLE, *SOME_USER, *options,
        secret=settings.get("secret", SECRET), **environment,
    )  # fmt: skip
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith(f"fastapi-password-reset: error: {variable} is 5 bytes long")
    assert result.stderr.count("\n") == 1
    if variable != "$FASTAPI_PASSWORD_RESET_SECRET":
        assert "FASTAPI_PASSWORD_RESET_SECRET" not in result.stderr
    assert "reset_password_token_secret" not in result.stderr


@pytest.mark.parametrize("store", ["redis", "redis-cluster"])
async def test_codes_are_counted_and_revoked_with_the_codes_flag(
    store: str, request: pytest.FixtureRequest
) -> None:
    """--codes reaches a user's outstanding code (and revokes the link mailed with it);
    without it the command sees only that link."""
    from fastapi_password_reset.tokens import RedisResetCodeStrategy

    server: RedisServer | RedisCluster = request.getfixturevalue(
        "redis_cluster" if store == "redis-cluster" else "redis_server"
    )
    client: Any = (
        redis.asyncio.RedisCluster.from_url(server.url)
        if store == "redis-cluster"
        else redis.asyncio.Redis.from_url(server.url)
    )
    prefix = f"cli-codes-{uuid.uuid4().hex[:8]}"
    strategy = RedisResetCodeStrategy(client, key_prefix=prefix)
    strategy.bind(SECRET, 600)
    user = new_user()
    code = await strategy.issue_token(user)
    assert code is not None
    cluster = ["--cluster"] if store == "redis-cluster" else []
    where = ["--redis-url", server.url, "--user-id", str(user.id), "--key-prefix", prefix]
    assert outcome(run("count", *where, *cluster))[:2] == (0, f"1 live token of user {user.id}\n")
    assert outcome(run("count", "--codes", *where, *cluster))[:2] == (
        0,
        f"1 live token of user {user.id}\n",
    )
    assert run("revoke", "--codes", *where, *cluster).returncode == 0
    assert await strategy.read_token(code, user_id=user.id) is None
    assert await strategy.read_token(code.link_token, user_id=user.id) is None
    without_flag = run("count", *where, *cluster)
    assert without_flag.returncode == 3 and CODES in without_flag.stderr
    # Nothing left: a run with --codes does not suggest --codes.
    again = run("count", "--codes", *where, *cluster)
    assert again.returncode == 3 and "--codes" not in again.stderr
    await client.aclose()


# Without the redis extra: the console script is installed whatever the extras.

WITHOUT_REDIS_PY = (
    "import sys\n"
    "sys.modules['redis'] = None  # as if redis-py were not installed\n"
    "from fastapi_password_reset.cli import run\n"
    "sys.argv[0] = 'fastapi-password-reset'\n"
    "run()\n"
)


def run_without_redis_py(*arguments: str) -> subprocess.CompletedProcess[str]:
    """The command's entry point in a Python where ``import redis`` fails."""
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["FASTAPI_PASSWORD_RESET_SECRET"] = SECRET
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_REDIS_PY, *arguments],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.mark.parametrize("command_name", ["revoke", "count"])
def test_without_redis_py_the_command_names_the_extra_on_one_line(command_name: str) -> None:
    """No traceback: one line saying how to install the redis extra, status 1."""
    result = run_without_redis_py(command_name, *UNREACHABLE, *SOME_USER)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith("fastapi-password-reset: error: this command needs redis-py")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "pip install '.[redis]' in a clone of the repository" in result.stderr
    assert "pip install 'fastapi-password-reset[redis]' once a release is on PyPI" in result.stderr


def test_without_redis_py_help_and_usage_mistakes_still_answer_as_usual() -> None:
    """--help needs no redis-py, and a usage mistake is still status 2."""
    assert run_without_redis_py("revoke", "--help").returncode == 0
    mistake = run_without_redis_py("revoke", *UNREACHABLE, "--user-id", "12x")
    assert (mistake.returncode, mistake.stdout) == (2, "")
    assert "not a user id" in mistake.stderr
