"""`BackgroundWork`: what runs after a response, bounded and isolated from the application."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from fastapi_password_reset._hook_threads import HookThreads
from fastapi_password_reset._redaction import redacted_traceback

logger = logging.getLogger("fastapi_password_reset")

T = TypeVar("T")
Job = Callable[..., Coroutine[Any, Any, object]]


class BackgroundWork:
    """Jobs that run after the response: reset mails, after-hooks. Bounded in every direction.

    - **Detached.** A Starlette background task would hold the connection until it ends, so
      the next request on a keep-alive connection would wait for a mail: a timing signal of
      whether the previous address had an account. Here the response hands the job over and
      is done.
    - **Bounded memory.** At most ``max_running`` jobs run at once and at most
      ``max_pending`` wait to start. When a job arrives and both are full, the *oldest*
      waiting job is shed (logged, counted, reported through ``on_shed``): under a flood the
      most recent requests, the ones a person is waiting on, are served first.
    - **Isolated threads.** Sync hooks run on ``hook_threads`` threads of the library's own
      (`HookThreads`): a slow mailer can never take the threads that the application's sync
      endpoints and dependencies use (AnyIO gives those 40 by default).
    - **Bounded shutdown.** `drain` waits at most ``drain_timeout_seconds``, then cancels what
      is left and logs how many jobs it abandoned. A sync hook that hangs keeps its thread, but
      a daemon thread: it cannot hold the process up at exit.
    """

    def __init__(
        self,
        max_pending: int = 1000,
        hook_threads: int = 4,
        drain_timeout_seconds: float = 10.0,
        *,
        max_running: int = 100,
    ) -> None:
        for name, value in (
            ("max_pending", max_pending),
            ("hook_threads", hook_threads),
            ("max_running", max_running),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, not {value!r}")
        if drain_timeout_seconds < 0:
            raise ValueError("drain_timeout_seconds must not be negative")
        self.max_pending = max_pending
        self.hook_threads = hook_threads
        self.drain_timeout_seconds = drain_timeout_seconds
        self.max_running = max_running
        self.shed = 0
        """How many jobs were shed since start."""
        self.on_shed: Callable[[int, str], object] | None = None
        """Called with a count and ``"overflow"`` or ``"shutdown"`` when jobs are dropped
        (the events use it); without it, the drop is logged here."""
        self._waiting: deque[tuple[contextvars.Context, Job, tuple[Any, ...]]] = deque()
        self._running: set[asyncio.Task[object]] = set()
        self._threads = HookThreads(hook_threads)

    @property
    def pending(self) -> int:
        """Jobs accepted and not finished: running or waiting to run."""
        return len(self._running) + len(self._waiting)

    def __len__(self) -> int:
        return self.pending

    def submit(self, job: Job, *args: Any) -> None:
        """Run ``job(*args)`` after the current request, without waiting for it.

        It runs in a copy of the caller's context (so it sees the same context variables).
        """
        context = contextvars.copy_context()
        if len(self._running) < self.max_running:
            self._start(context, job, args)
            return
        if len(self._waiting) >= self.max_pending:
            self._waiting.popleft()
            self._report_shed(1, "overflow")
        self._waiting.append((context, job, args))

    async def spawn(self, job: Job, *args: Any) -> None:
        """`submit`, as a coroutine: what a Starlette response runs as its background."""
        self.submit(job, *args)

    async def run_sync(self, function: Callable[..., T], *args: Any) -> T:
        """Run a sync hook on the library's own threads, in a copy of the current context."""
        return await self._threads.run(function, *args)

    async def drain(self, within_seconds: float | None = None) -> int:
        """Wait for every job accepted so far (and any they start); the number abandoned.

        Waits at most ``within_seconds`` (``drain_timeout_seconds`` by default; ``math.inf``
        for no limit). What is still running then is cancelled, what still waits is dropped,
        and both are reported.
        """
        limit = self.drain_timeout_seconds if within_seconds is None else within_seconds
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while self._running:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            await asyncio.wait(set(self._running), timeout=min(remaining, 3600.0))
        abandoned = self.pending
        if abandoned:
            self._waiting.clear()
            cancelled = list(self._running)
            for task in cancelled:
                task.cancel()
            # A cancelled job ends at its next await (a hook's thread is abandoned, not
            # waited for); give them a moment to, without waiting on a job that ignores it.
            await asyncio.wait(cancelled, timeout=1.0)
            self._report_shed(abandoned, "shutdown")
        return abandoned

    def _start(self, context: contextvars.Context, job: Job, args: tuple[Any, ...]) -> None:
        task = asyncio.get_running_loop().create_task(job(*args), context=context)
        self._running.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[object]) -> None:
        self._running.discard(task)
        failure = None if task.cancelled() else task.exception()
        if failure is not None:
            # Jobs log their own failures; this is a bug in a job, kept out of the loop's
            # "exception was never retrieved" noise but not silent, and redacted.
            logger.error("background job failed:\n%s", redacted_traceback(failure))
        while self._waiting and len(self._running) < self.max_running:
            self._start(*self._waiting.popleft())

    def _report_shed(self, count: int, why: str) -> None:
        self.shed += count
        if self.on_shed is not None:
            self.on_shed(count, why)
        else:
            logger.warning("background work: dropped %d job(s) (%s)", count, why)
