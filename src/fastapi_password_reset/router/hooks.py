"""Running application hooks after the response, safely."""

from __future__ import annotations

import asyncio
import inspect
import logging
import traceback
from collections.abc import Callable, Coroutine, Iterable, Sequence
from typing import Any

from starlette.concurrency import run_in_threadpool

logger = logging.getLogger("fastapi_password_reset")

Hook = Callable[..., Any]


def _is_async(hook: Hook) -> bool:
    call = getattr(type(hook), "__call__", None)  # noqa: B004 - async __call__ of an object
    return inspect.iscoroutinefunction(hook) or inspect.iscoroutinefunction(call)


async def call_hook(hook: Hook, *args: Any) -> Any:
    """Await an async hook; run a sync one in the thread pool, never on the event loop."""
    if _is_async(hook):
        return await hook(*args)
    result = await run_in_threadpool(hook, *args)
    if inspect.isawaitable(result):
        result = await result
    return result


def redacted_traceback(exc: BaseException, secrets: Iterable[str]) -> str:
    """The exception's traceback with every given secret replaced.

    Exception messages are written by other code (a mailer, a database driver printing its
    query parameters, a hook formatting a user model) and may quote a token or a password
    hash; this keeps them out of the logs while keeping the rest for debugging.
    """
    text = "".join(traceback.format_exception(exc))
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text


async def call_hook_logged(
    name: str, hook: Hook, secrets: Sequence[str], user: Any, *args: Any
) -> None:
    """Run ``hook(user, *args)`` after a response: a failure is logged, never raised.

    The log names the hook and the user id; the given secrets and the user's password hash
    are blanked out of the traceback.
    """
    try:
        await call_hook(hook, user, *args)
    except Exception as exc:
        logger.error(
            "%s failed for user %s:\n%s",
            name,
            user.id,
            redacted_traceback(exc, [*secrets, user.hashed_password]),
        )


class BackgroundWork:
    """Work that runs after the response, detached from the request.

    A Starlette background task would hold the HTTP connection until it ends, so the next
    request on a keep-alive connection would wait for an e-mail hook: a timing signal of
    whether the previous address had an account. Here the response schedules the work and
    returns at once. References are kept until each job ends (the event loop keeps only weak
    ones), a job's failure is logged by the job itself, and `drain` waits for whatever is
    still running, at shutdown or in tests.
    """

    def __init__(self) -> None:
        self._running: set[asyncio.Task[None]] = set()

    async def spawn(self, job: Callable[..., Coroutine[Any, Any, None]], *args: Any) -> None:
        """Start ``job(*args)`` and return without waiting for it.

        A coroutine, so that Starlette runs it on the event loop as a response's background.
        """
        task = asyncio.get_running_loop().create_task(job(*args))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def drain(self) -> None:
        """Wait until every job spawned so far, and any they spawn, has ended."""
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    def __len__(self) -> int:
        return len(self._running)
