"""How long a server takes to exit while a mail hook hangs.

The hook never returns in practice (it sleeps an hour). A forgot-password for an existing
account starts it; once the background job is running, the server gets a signal and the time
to exit is measured: SIGTERM (what process managers and containers send) and SIGINT (Ctrl-C).
The same with an unknown address (no hook runs) is the control. Past ``limit_seconds`` the
server is killed and the trial counts as "did not exit".
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Any

import httpx

from benchmarks import settings
from benchmarks.servers import PYTHON, AppServer

# Time for the job to reach the hook's thread after the queue shows it.
SETTLE_SECONDS = 0.5
SIGNALS = {"SIGTERM": signal.SIGTERM, "SIGINT": signal.SIGINT}


async def _trial(
    env: dict[str, str], email: str, signal_name: str, limit_seconds: float
) -> dict[str, Any]:
    with AppServer(PYTHON, "benchmarks.app_ours", env) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            response = await client.post("/auth/forgot-password", json={"email": email})
            assert response.status_code == 202, response.text
            for _ in range(100):
                if (await client.get("/bench/pending")).json()["pending"]:
                    break
                await asyncio.sleep(0.02)
            await asyncio.sleep(SETTLE_SECONDS)
            pending = (await client.get("/bench/pending")).json()["pending"]
        ended = await asyncio.to_thread(server.stop, limit_seconds, SIGNALS[signal_name])
        log = server.log()
    return {
        "signal": signal_name,
        "pending_at_signal": pending,
        "exit_seconds": ended.seconds,
        "returncode": ended.returncode,
        "log_tail": log.strip().splitlines()[-5:],
    }


def trials(hanging_per_signal: int) -> int:
    return (hanging_per_signal + 1) * len(SIGNALS)


async def measure(
    drain_seconds: float,
    hanging_per_signal: int,
    limit_seconds: float,
    tick: Callable[[int], object],
) -> dict[str, Any]:
    env = {"BENCH_TOKENS": "jwt", "BENCH_HOOK": "hang", "BENCH_DRAIN_SECONDS": str(drain_seconds)}
    hanging, control = [], []
    for signal_name in SIGNALS:
        for _ in range(hanging_per_signal):
            hanging.append(await _trial(env, settings.user_email(0), signal_name, limit_seconds))
            tick(1)
        control.append(await _trial(env, settings.unknown_email(0), signal_name, limit_seconds))
        tick(1)
    return {
        "drain_timeout_seconds": drain_seconds,
        "limit_seconds": limit_seconds,
        "hanging_hook": hanging,
        "no_hook_running": control,
    }
