"""JWT mode works without redis-py; asking for the Redis strategy then says what to install."""

from __future__ import annotations

import subprocess
import sys
import textwrap

PROGRAM = textwrap.dedent(
    """
    import sys
    sys.modules["redis"] = None  # as if redis-py were not installed
    from fastapi import FastAPI
    from fastapi_password_reset import FastAPIUsers, models
    from fastapi_password_reset.db import InMemoryUserDatabase
    from fastapi_password_reset import tokens

    class UserDB(models.BaseUserDB):
        pass

    users = FastAPIUsers(InMemoryUserDatabase(UserDB), [], models.BaseUser,
                         models.BaseUserCreate, models.BaseUserUpdate, UserDB)
    FastAPI().include_router(users.get_reset_password_router("s" * 32))
    try:
        tokens.RedisResetTokenStrategy
    except ImportError as exc:
        print(exc)
    """
)


def test_jwt_mode_needs_no_redis_and_the_redis_strategy_names_the_extra() -> None:
    """Without redis-py the package imports and serves JWT mode; Redis asks for the extra."""
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    # No release is on PyPI yet: the command for a clone comes first, PyPI's second.
    assert "pip install '.[redis]' in a clone of the repository" in result.stdout
    assert "pip install 'fastapi-password-reset[redis]' once a release is on PyPI" in result.stdout
