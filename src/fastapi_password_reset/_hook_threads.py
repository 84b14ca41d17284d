"""The threads sync hooks run on after a response: few, the library's own, and daemons."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_Job = tuple["asyncio.Future[Any]", asyncio.AbstractEventLoop, Callable[[], Any]]


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the caller gave up (cancelled) meanwhile
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


class HookThreads:
    """``count`` daemon threads that run sync hooks, each call in a copy of the caller's context.

    Hand-written rather than `concurrent.futures.ThreadPoolExecutor` or AnyIO's worker threads
    because both are joined when the interpreter exits: a mail hook that hangs would then hold
    the process up for ever after the drain deadline gave up on it. These are daemon threads,
    abandoned at exit. A caller that stops waiting (cancelled) leaves the call running on its
    thread; its result is dropped.
    """

    def __init__(self, count: int) -> None:
        self.count = count
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` on one of the threads; its result or its exception."""
        self._start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        call = functools.partial(contextvars.copy_context().run, function, *args)
        self._jobs.put((future, loop, call))
        return await future

    def _start(self) -> None:
        with self._lock:
            while len(self._threads) < self.count:
                thread = threading.Thread(
                    target=self._work,
                    name=f"fastapi-password-reset-hook-{len(self._threads)}",
                    daemon=True,
                )
                thread.start()
                self._threads.append(thread)

    def _work(self) -> None:
        while True:
            future, loop, call = self._jobs.get()
            if future.cancelled():
                continue
            result, error = None, None
            try:
                result = call()
            except BaseException as exc:  # handed to the awaiting coroutine, not lost here
                error = exc
            # The loop may be gone (shut down while the hook ran): nobody is waiting then.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, future, result, error)
