"""Failures of redis-py, as the Redis strategies report them, and what each may have left.

A command that failed either certainly did nothing, or may have run with its reply lost.
Only the second kind is worth undoing (withdrawing an issued token, releasing a claim): an
undo sent for the first kind, to a Redis that is down, could only fail in turn and report a
token that was never stored.
"""

from __future__ import annotations

import os
import traceback

from redis import exceptions as redis_errors

from fastapi_password_reset.tokens.base import TokenStoreUnavailableError

# Every failure of the store, as redis-py reports it: connection loss and timeouts, a server
# that refuses writes (READONLY after a failover, NOREPLICAS, OOM, BUSY, LOADING), cluster
# errors. None of them says anything about the token, so all are "unavailable", never a 500.
STORE_FAILURES = (redis_errors.RedisError, redis_errors.RedisClusterException, OSError)


class NothingToUndoError(TokenStoreUnavailableError):
    """The store failed, and the command certainly changed nothing.

    Either it never left the client (no connection could be had), or Redis answered it with
    an error: a reply came, so none was lost, and the library's scripts are refused at their
    first write (READONLY, OOM, NOREPLICAS) before any change.
    """


def store_unavailable(failure: BaseException) -> TokenStoreUnavailableError:
    """The error to raise for a failure of redis-py: `NothingToUndoError` when the command
    certainly did not run, else `TokenStoreUnavailableError`."""
    message = f"{type(failure).__name__}: {failure}"
    if _answered(failure) or _never_sent(failure):
        return NothingToUndoError(message)
    return TokenStoreUnavailableError(message)


def _answered(failure: BaseException) -> bool:
    """Redis replied with an error (LOADING is a connection error in redis-py, but a reply)."""
    return isinstance(failure, redis_errors.ResponseError | redis_errors.BusyLoadingError)


def _never_sent(failure: BaseException) -> bool:
    """Whether the failure happened while taking a connection from the pool.

    redis-py's `Redis` takes one connection from its pool for a command, connecting it
    there, and only then sends the command and retries it on that connection: a failure
    raised under the pool's ``get_connection`` means that no attempt sent anything. A failure
    anywhere else may follow an attempt whose reply was lost (a retry that could not
    reconnect looks like a refused connection), and so may the failures of `RedisCluster`,
    which connects as it sends and retries over several nodes: those count as sent.
    """
    return any(
        frame.name == "get_connection"
        and frame.filename.endswith(os.path.join("redis", "asyncio", "connection.py"))
        for frame in traceback.extract_tb(failure.__traceback__)
    )


def raised_inside_redis_py(exc: BaseException) -> bool:
    """Whether the innermost frame of the traceback is redis-py's (or asyncio's under it)."""
    frames = traceback.extract_tb(exc.__traceback__)
    in_redis = [f for f in frames if f"{os.sep}redis{os.sep}" in f.filename]
    return bool(in_redis) and frames[-1].filename in {f.filename for f in in_redis} | {
        f.filename for f in frames if f"{os.sep}asyncio{os.sep}" in f.filename
    }
