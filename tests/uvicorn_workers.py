"""A real ``uvicorn --workers N`` server for tests, and the middleware that says which worker
answered. Shared by tests/test_workers.py and tests/contrib/test_workers.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.servers import free_port, port_open

ROOT = Path(__file__).resolve().parent.parent
PID_HEADER = "X-Worker-Pid"
STARTUP_TIMEOUT = 30.0


class WorkerPidHeader:
    """Pure ASGI middleware: every HTTP answer says which worker process served it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_pid(message: Message) -> None:
            if message["type"] == "http.response.start":
                pid = (PID_HEADER.lower().encode(), str(os.getpid()).encode())
                message = {**message, "headers": [*message.get("headers", []), pid]}
            await send(message)

        await self.app(scope, receive, send_with_pid)


async def eventually(ready: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll ``ready`` without blocking the event loop until it holds, for at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} was not ready within {seconds} s")
        await anyio.sleep(0.05)


@dataclass(frozen=True)
class Workers:
    base_url: str
    pid: int
    """The uvicorn supervisor's pid, also its process group."""


@asynccontextmanager
async def uvicorn_workers(
    app: str,
    settings: dict[str, str],
    log: Path,
    *,
    workers: int,
    stop: signal.Signals = signal.SIGTERM,
    options: Sequence[str] = (),
) -> AsyncIterator[Workers]:
    """``uvicorn <app> --workers N`` on a free port, until the block ends.

    Ready once every worker has finished its start-up; output goes to ``log``. The server runs
    in a session of its own, whose process group gets ``stop`` at the end (SIGKILL after
    15 s), even when the test is cancelled.
    """
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", app,
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), *options,
    ]  # fmt: skip
    env = {**os.environ, **settings, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as output:
        process = await anyio.open_process(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:

        def all_workers_started() -> bool:
            if process.returncode is not None:
                raise RuntimeError(f"uvicorn exited with {process.returncode}")
            started = log.read_text(errors="replace").count("Application startup complete.")
            return started >= workers and port_open(port)

        await eventually(all_workers_started, STARTUP_TIMEOUT, f"{workers} uvicorn workers")
        yield Workers(f"http://127.0.0.1:{port}", process.pid)
    finally:
        with anyio.CancelScope(shield=True):
            if process.returncode is None:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, stop)
                with anyio.move_on_after(15) as waiting:
                    await process.wait()
                if waiting.cancelled_caught:
                    with suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    await process.wait()
            await process.aclose()
