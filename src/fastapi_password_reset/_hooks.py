"""Application hooks: their types, and running them after the response, safely."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar
from uuid import UUID

from starlette.concurrency import run_in_threadpool

from fastapi_password_reset._events import Event, EventRecorder
from fastapi_password_reset._redaction import redacted_traceback

if TYPE_CHECKING:
    from starlette.requests import Request

logger = logging.getLogger("fastapi_password_reset")

T = TypeVar("T")
UD = TypeVar("UD")  # the application's user: a pydantic model, or an ORM object (contrib)

# Each hook may be a plain function (run in a worker thread) or a coroutine function.
# A hook's result is ignored (awaited first when it is awaitable), so any return type fits.
MaybeAwaitable: TypeAlias = object
# The user is the application's UserCreate model at registration and its UserDB at a reset:
# typed loosely so that a hook annotated with the application's own models fits.
ValidatePassword: TypeAlias = Callable[[str, Any], MaybeAwaitable]
AfterForgotPassword: TypeAlias = Callable[[UD, str, "Request"], MaybeAwaitable]
AfterResetPassword: TypeAlias = Callable[[UD, "Request"], MaybeAwaitable]
AfterRegister: TypeAlias = Callable[[UD, "Request"], MaybeAwaitable]
AfterForgotPasswordUnknown: TypeAlias = Callable[[str, "Request"], MaybeAwaitable]


def is_async_hook(hook: object) -> bool:
    call = getattr(type(hook), "__call__", None)  # noqa: B004 - async __call__ of an object
    return inspect.iscoroutinefunction(hook) or inspect.iscoroutinefunction(call)


RunSync = Callable[..., Awaitable[Any]]


async def call_hook(
    hook: Callable[..., MaybeAwaitable], *args: Any, run_sync: RunSync | None = None
) -> None:
    """Await an async hook; run a sync one on a thread, never on the event loop.

    ``run_sync`` is where sync hooks run after a response (`BackgroundWork.run_sync`, the
    library's own threads); without it, in AnyIO's pool, like the request's other work.
    """
    if is_async_hook(hook):
        result = hook(*args)
    else:
        result = await (run_sync or run_in_threadpool)(hook, *args)
    if inspect.isawaitable(result):
        await result


async def call_hook_logged(
    name: str,
    hook: Callable[..., MaybeAwaitable],
    user_id: object,
    *args: Any,
    run_sync: RunSync | None = None,
    events: EventRecorder | None = None,
) -> bool:
    """Run a hook after a response: a failure is logged (hook name, user id) and reported as
    a ``hook_failed`` event, never raised.

    The traceback is redacted of every secret the request or job has seen. Returns whether
    the hook succeeded.
    """
    try:
        await call_hook(hook, *args, run_sync=run_sync)
    except Exception as exc:
        logger.error("%s failed for user %s:\n%s", name, user_id, redacted_traceback(exc))
        if events is not None:
            events.emit(Event.HOOK_FAILED, user_id=_as_event_id(user_id), reason=name)
        return False
    return True


def _as_event_id(user_id: object) -> UUID | int | None:
    if isinstance(user_id, bool) or not isinstance(user_id, UUID | int):
        return None
    return user_id
