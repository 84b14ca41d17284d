"""Application hooks: their types, and running them after the response, safely."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from starlette.concurrency import run_in_threadpool

from fastapi_password_reset._redaction import redacted_traceback
from fastapi_password_reset.db.base import UD

if TYPE_CHECKING:
    from starlette.requests import Request

logger = logging.getLogger("fastapi_password_reset")

T = TypeVar("T")

# Each hook may be a plain function (run in a worker thread) or a coroutine function.
# A hook's result is ignored (awaited first when it is awaitable), so any return type fits.
MaybeAwaitable: TypeAlias = object
# The user is the application's UserCreate model at registration and its UserDB at a reset:
# typed loosely so that a hook annotated with the application's own models fits.
ValidatePassword: TypeAlias = Callable[[str, Any], MaybeAwaitable]
AfterForgotPassword: TypeAlias = Callable[[UD, str, "Request"], MaybeAwaitable]
AfterResetPassword: TypeAlias = Callable[[UD, "Request"], MaybeAwaitable]
AfterRegister: TypeAlias = Callable[[UD, "Request"], MaybeAwaitable]


def _is_async(hook: Callable[..., Any]) -> bool:
    call = getattr(type(hook), "__call__", None)  # noqa: B004 - async __call__ of an object
    return inspect.iscoroutinefunction(hook) or inspect.iscoroutinefunction(call)


async def call_hook(hook: Callable[..., MaybeAwaitable], *args: Any) -> None:
    """Await an async hook; run a sync one in the thread pool, never on the event loop."""
    if _is_async(hook):
        result = hook(*args)
    else:
        result = await run_in_threadpool(hook, *args)
    if inspect.isawaitable(result):
        await result


async def call_hook_logged(
    name: str, hook: Callable[..., MaybeAwaitable], user_id: object, *args: Any
) -> bool:
    """Run a hook after a response: a failure is logged (hook name, user id), never raised.

    The traceback is redacted of every secret the request or job has seen. Returns whether
    the hook succeeded.
    """
    try:
        await call_hook(hook, *args)
    except Exception as exc:
        logger.error("%s failed for user %s:\n%s", name, user_id, redacted_traceback(exc))
        return False
    return True


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
        self._running: set[asyncio.Task[Any]] = set()

    async def spawn(self, job: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> None:
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
