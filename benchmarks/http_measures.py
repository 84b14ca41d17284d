"""Measurements over HTTP, with the same client for every implementation."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from typing import Any

import httpx

from benchmarks import settings
from benchmarks.stats import distinguishable, summary

Tick = Callable[[int], object]


async def _timed_post(client: httpx.AsyncClient, path: str, body: dict[str, str]) -> float:
    started = time.perf_counter()
    response = await client.post(path, json=body)
    elapsed = time.perf_counter() - started
    if response.status_code >= 500:
        raise RuntimeError(f"{path} answered {response.status_code}")
    return elapsed


async def forgot_latency(url: str, pairs: int, tick: Tick) -> dict[str, Any]:
    """Existing and unknown e-mails, interleaved in random order on one keep-alive connection."""
    rng = random.Random(1)
    existing: list[float] = []
    unknown: list[float] = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for index in range(10):  # warm-up: connection, caches, first argon2 run
            await _timed_post(
                client, "/auth/forgot-password", {"email": settings.user_email(index)}
            )
        for index in range(pairs):
            order = [True, False]
            rng.shuffle(order)
            for is_existing in order:
                email = (
                    settings.user_email(rng.randrange(settings.USER_COUNT))
                    if is_existing
                    else settings.unknown_email(index)
                )
                elapsed = await _timed_post(client, "/auth/forgot-password", {"email": email})
                (existing if is_existing else unknown).append(elapsed)
            tick(1)
    existing_summary, unknown_summary = summary(existing), summary(unknown)
    return {
        "existing": existing_summary,
        "unknown": unknown_summary,
        "median_ratio_existing_over_unknown": existing_summary["median_ms"]
        / unknown_summary["median_ms"],
        "test": distinguishable(existing, unknown),
        "samples_ms": {
            "existing": [s * 1000 for s in existing],
            "unknown": [s * 1000 for s in unknown],
        },
    }


async def _reset_once(client: httpx.AsyncClient, email: str, password: str) -> float:
    token = (await client.post("/bench/token", json={"email": email})).json()["token"]
    body = {"token": token, "password": password}
    started = time.perf_counter()
    response = await client.post("/auth/reset-password", json=body)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"reset answered {response.status_code}: {response.text[:200]}")
    return elapsed


async def reset_latency(urls: dict[str, str], count: int, tick: Tick) -> dict[str, Any]:
    """Time of ``POST /reset-password`` alone, a fresh token each time.

    The implementations take turns request by request, so that a machine that slows down or
    speeds up during the run affects them alike.
    """
    samples: dict[str, list[float]] = {name: [] for name in urls}
    clients = {name: httpx.AsyncClient(base_url=url, timeout=60) for name, url in urls.items()}
    try:
        for client in clients.values():
            await _reset_once(client, settings.user_email(0), "warm-up passphrase")
        names = list(urls)
        for index in range(count):
            email = settings.user_email(index % settings.USER_COUNT)
            for name in names[index % len(names) :] + names[: index % len(names)]:
                samples[name].append(
                    await _reset_once(clients[name], email, f"new passphrase {index}")
                )
            tick(len(names))
    finally:
        for client in clients.values():
            await client.aclose()
    return {
        name: {**summary(values), "samples_ms": [s * 1000 for s in values]}
        for name, values in samples.items()
    }


async def loop_freedom(url: str, probes: int, tick: Tick) -> dict[str, Any]:
    """Forgot-password latency (unknown e-mails) while four resets run back to back."""
    stop = asyncio.Event()
    resets_done = 0

    async def resetter(worker: int) -> None:
        nonlocal resets_done
        async with httpx.AsyncClient(base_url=url, timeout=120) as client:
            index = 0
            while not stop.is_set():
                email = settings.user_email((worker * 50 + index) % settings.USER_COUNT)
                await _reset_once(client, email, f"loaded passphrase {worker} {index}")
                resets_done += 1
                index += 1

    workers = [asyncio.create_task(resetter(worker)) for worker in range(4)]
    samples: list[float] = []
    started = time.perf_counter()
    try:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            await asyncio.sleep(0.5)  # let the resets get going
            for index in range(probes):
                body = {"email": settings.unknown_email(100_000 + index)}
                samples.append(await _timed_post(client, "/auth/forgot-password", body))
                tick(1)
                await asyncio.sleep(0.01)
    finally:
        stop.set()
        await asyncio.gather(*workers)
    # The window lasts as long as the probes take, which differs by implementation: the
    # count alone compares nothing, the rate does.
    window = time.perf_counter() - started
    return {
        **summary(samples),
        "concurrent_resets_completed": resets_done,
        "window_seconds": window,
        "samples_ms": [s * 1000 for s in samples],
    }


async def exactly_once_across_workers(url: str, tokens: int, racers: int) -> dict[str, Any]:
    """Each token raced by many connections (spread over the workers): one 200 per token."""
    successes: list[int] = []
    async with httpx.AsyncClient(base_url=url, timeout=60) as issuer:
        for index in range(tokens):
            email = settings.user_email(index)
            token = (await issuer.post("/bench/token", json={"email": email})).json()["token"]
            limits = httpx.Limits(max_connections=racers, max_keepalive_connections=0)
            async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as racer:
                answers = await asyncio.gather(
                    *(
                        racer.post(
                            "/auth/reset-password",
                            json={"token": token, "password": f"raced passphrase {n}"},
                        )
                        for n in range(racers)
                    )
                )
            successes.append(sum(1 for answer in answers if answer.status_code == 200))
    return {"tokens": tokens, "racers_per_token": racers, "successes_per_token": successes}
