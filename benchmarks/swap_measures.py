"""What `benchmarks.swap` measures, over HTTP, against the stock and the swapped server alike.

Reset tokens come the way an application's users get them: ``POST /auth/forgot-password``,
then the token the mail hook was given (``GET /bench/mail``). The stock router calls the hook
before it answers, the swapped one after; the client waits for the hook either way.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from benchmarks import settings
from benchmarks.swap_stats import compare, probability_slower, summary_ms

FORGOT = "/auth/forgot-password"
RESET = "/auth/reset-password"
PING = "/bench/ping"
AUTHENTICATED = "/authenticated-route"
Progress = Callable[[str], object]
PROBE_EMAIL = "probe@bench.example.com"
"""A user that no reset touches: ``/authenticated-route`` is probed with its bearer token."""
PROBE_PASSWORD = "probe passphrase"


@dataclass
class Variant:
    """One running server: ``stock`` or ``swapped``, and a bearer token for its probe user."""

    name: str
    url: str
    bearer: str = ""

    def client(self, connections: int = 1) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        return httpx.AsyncClient(base_url=self.url, timeout=120, limits=limits)


async def log_in(variant: Variant, email: str, password: str) -> None:
    """The example's own log-in (``/auth/jwt/login``), for probing ``/authenticated-route``."""
    async with variant.client() as client:
        answer = await client.post(
            "/auth/jwt/login", data={"username": email, "password": password}
        )
        answer.raise_for_status()
        variant.bearer = answer.json()["access_token"]


async def _timed(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> float:
    started = time.perf_counter()
    answer = await client.request(method, path, **kwargs)
    elapsed = time.perf_counter() - started
    expected = {FORGOT: 202}.get(path, 200)
    if answer.status_code != expected:
        raise RuntimeError(f"{method} {path} answered {answer.status_code}: {answer.text[:300]}")
    return elapsed


async def fresh_token(client: httpx.AsyncClient, email: str) -> str:
    """Ask for a reset of ``email`` and wait until the mail hook has its new token."""
    before = (await client.get("/bench/mail", params={"email": email})).json()["number"]
    await _timed(client, "POST", FORGOT, json={"email": email})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        mail = (await client.get("/bench/mail", params={"email": email})).json()
        if mail["number"] > before:
            token: str = mail["token"]
            return token
        await asyncio.sleep(0.005)
    raise TimeoutError(f"no reset mail for {email} within 30 s")


async def wait_settled(client: httpx.AsyncClient, limit_seconds: float = 120) -> float:
    """Wait until the server has no work left from earlier requests; the seconds it took.

    Done means the swapped router's queue is empty, every mail hook that started has
    finished, and no hook started in the last quarter second: the stock router goes on with
    requests whose client gave up (wrk at the end of its run) and calls their hooks too.
    """
    started = time.monotonic()
    previous: dict[str, Any] = {}
    while time.monotonic() - started < limit_seconds:
        stats = (await client.get("/bench/stats")).json()
        if (
            stats["pending"] == 0
            and stats["hook_calls"] == stats["mails_sent"]
            and stats["hook_calls"] == previous.get("hook_calls")
        ):
            break
        previous = stats
        await asyncio.sleep(0.25)
    return time.monotonic() - started


def _rotated(variants: list[Variant], index: int) -> list[Variant]:
    """Take turns: who goes first alternates, so that drift hits both alike."""
    shift = index % len(variants)
    return variants[shift:] + variants[:shift]


async def forgot_latency(variants: list[Variant], pairs: int, progress: Progress) -> dict[str, Any]:
    """``POST /auth/forgot-password`` for an existing and an unknown address, on one keep-alive
    connection per server; the four requests of a round in an order that varies."""
    rng = random.Random(1)
    samples: dict[str, dict[str, list[float]]] = {
        v.name: {"existing": [], "unknown": []} for v in variants
    }
    clients = {v.name: v.client() for v in variants}
    try:
        for variant in variants:  # warm-up: connections, caches, the first argon2 run
            for index in range(5):
                email = settings.user_email(index)
                await _timed(clients[variant.name], "POST", FORGOT, json={"email": email})
        for index in range(pairs):
            for variant in _rotated(variants, index):
                kinds = ["existing", "unknown"]
                rng.shuffle(kinds)
                for kind in kinds:
                    email = (
                        settings.user_email(rng.randrange(settings.USER_COUNT))
                        if kind == "existing"
                        else settings.unknown_email(index)
                    )
                    samples[variant.name][kind].append(
                        await _timed(clients[variant.name], "POST", FORGOT, json={"email": email})
                    )
            if index % 25 == 24:
                progress(f"forgot-password latency: {index + 1}/{pairs} rounds")
        for variant in variants:
            await wait_settled(clients[variant.name])
    finally:
        for client in clients.values():
            await client.aclose()
    result: dict[str, Any] = {}
    for name, kinds_samples in samples.items():
        existing, unknown = kinds_samples["existing"], kinds_samples["unknown"]
        result[name] = {
            "existing": summary_ms(existing),
            "unknown": summary_ms(unknown),
            "existing_minus_unknown_median_ms": (
                summary_ms(existing)["median_ms"] - summary_ms(unknown)["median_ms"]
            ),
            "existing_vs_unknown": probability_slower(existing, unknown),
            "samples_ms": {kind: [s * 1000 for s in v] for kind, v in kinds_samples.items()},
        }
    if {"stock", "swapped"} <= samples.keys():
        result["swapped_vs_stock"] = {
            kind: compare(samples["stock"][kind], samples["swapped"][kind])
            for kind in ("existing", "unknown")
        }
    return result


async def reset_latency(variants: list[Variant], count: int, progress: Progress) -> dict[str, Any]:
    """``POST /auth/reset-password`` alone, with a fresh token each time, servers taking turns."""
    samples: dict[str, list[float]] = {v.name: [] for v in variants}
    clients = {v.name: v.client() for v in variants}
    try:
        for variant in variants:  # warm-up
            client = clients[variant.name]
            token = await fresh_token(client, settings.user_email(0))
            body = {"token": token, "password": "warm-up passphrase"}
            await _timed(client, "POST", RESET, json=body)
        for index in range(count):
            email = settings.user_email(1 + index % (settings.USER_COUNT - 1))
            for variant in _rotated(variants, index):
                client = clients[variant.name]
                token = await fresh_token(client, email)
                body = {"token": token, "password": f"new passphrase {variant.name} {index}"}
                samples[variant.name].append(await _timed(client, "POST", RESET, json=body))
            if index % 10 == 9:
                progress(f"reset-password latency: {index + 1}/{count} rounds")
        for variant in variants:
            await wait_settled(clients[variant.name])
    finally:
        for client in clients.values():
            await client.aclose()
    result: dict[str, Any] = {
        name: {**summary_ms(values), "samples_ms": [s * 1000 for s in values]}
        for name, values in samples.items()
    }
    if {"stock", "swapped"} <= samples.keys():
        result["swapped_vs_stock"] = compare(samples["stock"], samples["swapped"])
    return result


async def _probe_once(client: httpx.AsyncClient, variant: Variant, path: str) -> float:
    headers = {"Authorization": f"Bearer {variant.bearer}"} if path == AUTHENTICATED else {}
    return await _timed(client, "GET", path, headers=headers)


async def idle_probes(variants: list[Variant], count: int) -> dict[str, dict[str, list[float]]]:
    """The probe routes with nothing else running, the servers taking turns."""
    samples: dict[str, dict[str, list[float]]] = {
        v.name: {PING: [], AUTHENTICATED: []} for v in variants
    }
    clients = {v.name: v.client() for v in variants}
    try:
        for index in range(count):
            path = PING if index % 2 == 0 else AUTHENTICATED
            for variant in _rotated(variants, index // 2):
                samples[variant.name][path].append(
                    await _probe_once(clients[variant.name], variant, path)
                )
                await asyncio.sleep(0.01)
    finally:
        for client in clients.values():
            await client.aclose()
    return samples


async def probes_under_resets(
    variant: Variant, resets: int, concurrency: int, first_user: int
) -> dict[str, Any]:
    """Probe latency while ``concurrency`` clients reset passwords back to back.

    The tokens are fetched first (for distinct users), so that the window holds resets only.
    Two probe clients, one on ``GET /bench/ping`` and one on ``GET /authenticated-route`` (a JWT
    check and a database read), each send a request 10 ms after the previous answer, from the
    first reset until the last one has been sent.
    """
    emails = [
        settings.user_email(1 + (first_user + n) % (settings.USER_COUNT - 1)) for n in range(resets)
    ]
    async with variant.client(connections=8) as issuer:
        limit = asyncio.Semaphore(8)

        async def issue(email: str) -> tuple[str, str]:
            async with limit:
                return email, await fresh_token(issuer, email)

        work = await asyncio.gather(*(issue(email) for email in emails))
        await wait_settled(issuer)
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    for item in work:
        queue.put_nowait(item)
    reset_samples: list[float] = []

    async def resetter(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            email, token = queue.get_nowait()
            body = {"token": token, "password": f"loaded passphrase {email} {time.time()}"}
            reset_samples.append(await _timed(client, "POST", RESET, json=body))

    probes: dict[str, list[float]] = {PING: [], AUTHENTICATED: []}

    async def prober(path: str) -> None:
        async with variant.client() as client:
            while not queue.empty():
                probes[path].append(await _probe_once(client, variant, path))
                await asyncio.sleep(0.01)

    async with variant.client(connections=concurrency) as reset_client:
        started = time.perf_counter()
        workers = [asyncio.create_task(resetter(reset_client)) for _ in range(concurrency)]
        await asyncio.sleep(0.05)  # the first resets are in the server
        await asyncio.gather(prober(PING), prober(AUTHENTICATED))
        probe_window = time.perf_counter() - started
        await asyncio.gather(*workers)
        window = time.perf_counter() - started
    return {
        "probes": probes,
        "resets": reset_samples,
        "probe_window_seconds": probe_window,
        "resets_per_second": resets / window,
    }


async def loop_responsiveness(
    variants: list[Variant], blocks: int, resets: int, concurrency: int, progress: Progress
) -> dict[str, Any]:
    """`probes_under_resets` in alternating blocks (stock, swapped, swapped, stock, ...)."""
    idle = await idle_probes(variants, 60)
    loaded: dict[str, list[dict[str, Any]]] = {v.name: [] for v in variants}
    for block in range(blocks):
        order = variants if block % 2 == 0 else list(reversed(variants))
        for variant in order:
            first_user = (block * len(variants) + variants.index(variant)) * resets
            loaded[variant.name].append(
                await probes_under_resets(variant, resets, concurrency, first_user)
            )
            progress(f"event loop under {concurrency} resets: {variant.name}, block {block + 1}")
    result: dict[str, Any] = {"concurrent_resets": concurrency, "resets_per_block": resets}
    pooled: dict[str, dict[str, list[float]]] = {}
    for variant in variants:
        runs = loaded[variant.name]
        pooled[variant.name] = {
            path: [s for run in runs for s in run["probes"][path]] for path in (PING, AUTHENTICATED)
        }
        result[variant.name] = {
            "idle": {path: summary_ms(values) for path, values in idle[variant.name].items()},
            "under_resets": {
                path: summary_ms(values) for path, values in pooled[variant.name].items()
            },
            "resets_under_load": summary_ms([s for run in runs for s in run["resets"]]),
            "resets_per_second_by_block": [run["resets_per_second"] for run in runs],
            "probe_windows_seconds": [run["probe_window_seconds"] for run in runs],
            "samples_ms": {
                **{
                    path: [s * 1000 for s in values]
                    for path, values in pooled[variant.name].items()
                },
                "resets_under_load": [s * 1000 for run in runs for s in run["resets"]],
            },
        }
    if {"stock", "swapped"} <= pooled.keys():
        resets_of = {
            name: [s for run in runs for s in run["resets"]] for name, runs in loaded.items()
        }
        result["swapped_vs_stock"] = {
            **{
                path: compare(pooled["stock"][path], pooled["swapped"][path])
                for path in (PING, AUTHENTICATED)
            },
            **{
                f"idle {path}": compare(idle["stock"][path], idle["swapped"][path])
                for path in (PING, AUTHENTICATED)
            },
            "resets_under_load": compare(resets_of["stock"], resets_of["swapped"]),
        }
    return result
