"""A flood of forgot-password requests against a slow sync mail hook, seen from inside.

``requests`` forgot-password requests for ``accounts`` existing accounts arrive over
``connections`` keep-alive connections as fast as the client can send them, while samplers
time the application's own sync endpoint (``GET /bench/sync``, a ``def`` route on AnyIO's
thread pool), an async one (``GET /bench/ping``: what the event loop alone costs) and a log-in
with the right password, and a monitor reads the queue of background jobs
(``GET /bench/pending``) and the server's resident memory (``/proc``) ten times a second.
Sampling goes on for ``after_seconds`` after the last request, while the backlog waits for the
hook's threads; latencies are reported for both phases, next to a baseline taken before.

The same flood sent to the bare endpoint (``path="/bench/bare"``) is the control: what the
load alone does to the other endpoints, with no work left behind.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from benchmarks import settings
from benchmarks.stats import summary

MONITOR_SECONDS = 0.1
SYNC_PAUSE_SECONDS = 0.02
# Log-ins are argon2 runs: one every 100 ms at most, so that they do not load two cores alone.
LOGIN_PAUSE_SECONDS = 0.1
SETTLE_SECONDS = 0.5
BASELINE_SYNC = 30
BASELINE_LOGINS = 5
LOGIN_USER = 0


def memory_kib(pid: int) -> dict[str, int]:
    """Resident memory now (VmRSS) and its peak since the process started (VmHWM)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


async def _timed(request: Awaitable[httpx.Response], expected: int) -> float:
    started = time.perf_counter()
    response = await request
    if response.status_code != expected:
        raise RuntimeError(f"answered {response.status_code}: {response.text[:200]}")
    return time.perf_counter() - started


def _login(client: httpx.AsyncClient) -> Awaitable[httpx.Response]:
    form = {"username": settings.user_email(LOGIN_USER), "password": settings.INITIAL_PASSWORD}
    return client.post("/auth/jwt/login", data=form)


class _Sampler:
    """Repeats one timed request until stopped, noting when each was sent."""

    def __init__(self, url: str, request: Callable[[httpx.AsyncClient], Awaitable[float]]):
        self.url, self.request = url, request
        self.samples: list[tuple[float, float]] = []  # (sent at, seconds)
        self.stopped = asyncio.Event()

    async def run(self, pause: float) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=120) as client:
            while not self.stopped.is_set():
                sent = time.perf_counter()
                self.samples.append((sent, await self.request(client)))
                await asyncio.sleep(pause)

    def between(self, start: float, end: float) -> dict[str, float]:
        """Summary of the requests sent in [start, end); a phase may hold none."""
        samples = [seconds for sent, seconds in self.samples if start <= sent < end]
        return summary(samples) if samples else {"n": 0}


async def _send_flood(
    url: str, path: str, requests: int, accounts: int, connections: int
) -> list[int]:
    statuses: list[int] = []

    async def connection(first: int) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=120) as client:
            for index in range(first, requests, connections):
                body = {"email": settings.user_email(index % accounts)}
                statuses.append((await client.post(path, json=body)).status_code)

    await asyncio.gather(*(connection(first) for first in range(connections)))
    return statuses


async def _baseline(url: str, pid: int) -> dict[str, Any]:
    rss_kib = memory_kib(pid)["VmRSS"]
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        # The first log-in starts the hashing pool and the first sync call a thread: not
        # what the flood is compared with.
        await _timed(_login(client), 200)
        await _timed(client.get("/bench/sync"), 200)
        sync = [await _timed(client.get("/bench/sync"), 200) for _ in range(BASELINE_SYNC)]
        ping = [await _timed(client.get("/bench/ping"), 200) for _ in range(BASELINE_SYNC)]
        logins = [await _timed(_login(client), 200) for _ in range(BASELINE_LOGINS)]
    return {
        "sync_endpoint": summary(sync),
        "async_endpoint": summary(ping),
        "login": summary(logins),
        "rss_kib": rss_kib,
        # Each log-in's argon2 run holds 64 MiB while it lasts: the peak before the flood.
        "peak_rss_kib": memory_kib(pid)["VmHWM"],
    }


async def measure(
    url: str,
    pid: int,
    *,
    path: str,
    requests: int,
    accounts: int,
    connections: int,
    after_seconds: float,
) -> dict[str, Any]:
    baseline = await _baseline(url, pid)
    sync = _Sampler(url, lambda client: _timed(client.get("/bench/sync"), 200))
    ping = _Sampler(url, lambda client: _timed(client.get("/bench/ping"), 200))
    login = _Sampler(url, lambda client: _timed(_login(client), 200))
    timeline: list[dict[str, Any]] = []
    monitoring = asyncio.Event()

    async def monitor() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=120) as client:
            while not monitoring.is_set():
                queue = (await client.get("/bench/pending")).json()
                timeline.append(
                    {"at": time.perf_counter(), **queue, "rss_kib": memory_kib(pid)["VmRSS"]}
                )
                await asyncio.sleep(MONITOR_SECONDS)

    tasks = [
        asyncio.create_task(sync.run(SYNC_PAUSE_SECONDS)),
        asyncio.create_task(ping.run(SYNC_PAUSE_SECONDS)),
        asyncio.create_task(login.run(LOGIN_PAUSE_SECONDS)),
        asyncio.create_task(monitor()),
    ]
    started = time.perf_counter()
    statuses = await _send_flood(url, path, requests, accounts, connections)
    flood_ended = time.perf_counter()
    rss_at_flood_end = memory_kib(pid)["VmRSS"]
    await asyncio.sleep(after_seconds)
    for sampler in (sync, ping, login):
        sampler.stopped.set()
    monitoring.set()
    await asyncio.gather(*tasks)
    ended = time.perf_counter()
    # With no log-in hashing (each argon2 run holds 64 MiB while it lasts), what the process
    # keeps for its backlog of jobs.
    await asyncio.sleep(SETTLE_SECONDS)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        backlog = (await client.get("/bench/pending")).json()
    backlog["rss_kib"] = memory_kib(pid)["VmRSS"]
    phases = {"during": (started, flood_ended), "after": (flood_ended, ended)}
    return {
        "path": path,
        "requests": requests,
        "accounts": accounts,
        "connections": connections,
        "flood_seconds": flood_ended - started,
        "answers": {str(code): statuses.count(code) for code in sorted(set(statuses))},
        "baseline": baseline,
        "sync_endpoint": {name: sync.between(*span) for name, span in phases.items()},
        "async_endpoint": {name: ping.between(*span) for name, span in phases.items()},
        "login": {name: login.between(*span) for name, span in phases.items()},
        "peak_pending": max(sample["pending"] for sample in timeline),
        "rss_at_flood_end_kib": rss_at_flood_end,
        "peak_rss_kib": memory_kib(pid)["VmHWM"],
        "with_backlog": backlog,
        "timeline": [{**sample, "at": sample["at"] - started} for sample in timeline],
    }
