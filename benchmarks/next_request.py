"""Does the request after a forgot-password tell whether its address had an account?

The answer to forgot-password is sent before anything is looked up; the lookup, the token and
the mail hook run after it, on the same process. Whatever that work costs lands on the next
request. A hostile client sends a target forgot-password and at once, on the same keep-alive
connection, a cheap probe (``GET /bench/ping``, which only the event loop's other work can
slow down), and compares the probe's latency after existing and unknown targets. It does so
with a lean client (`RawConnection`), so that the client's own work does not hide the server's.

Each server gets, per round, in random order: a target for an existing account used for the
first time (it gets a token and a mail), one for an existing account asked for a moment ago
(throttled: the library's default allows one mail a minute, so an attacker who sends an address
twice meets this path), one for an unknown address, and a bare endpoint request (for
forgot-password's own overhead). Every step starts on a quiet process: the servers take turns
in rounds paced to ``gap_seconds``, longer than the mail hook, so that what one target left
behind has finished before that server's next step (and the other servers' steps fill the wait).

Each configuration runs in several server processes: ratios vary between processes more than
one process's p-value says, and the per-process ratios show by how much.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks import settings
from benchmarks.raw_http import RawConnection
from benchmarks.stats import distinguishable, summary

WARM_UP_STEPS = 10
TARGETS = ("existing", "throttled", "unknown")
KINDS = (*TARGETS, "bare")


def _by_kind() -> dict[str, list[float]]:
    return {kind: [] for kind in TARGETS}


@dataclass
class _Samples:
    target: dict[str, list[float]] = field(default_factory=_by_kind)
    probe: dict[str, list[float]] = field(default_factory=_by_kind)
    bare: list[float] = field(default_factory=list)


async def _timed(connection: RawConnection, request: bytes) -> float:
    status, elapsed = await connection.send(request)
    if status not in (200, 202):
        raise RuntimeError(f"{request.split(b' HTTP')[0].decode()} answered {status}")
    return elapsed


async def _step(connection: RawConnection, kind: str, email: str, samples: _Samples) -> None:
    if kind == "bare":
        bare = connection.post_json("/bench/bare", {"email": email})
        samples.bare.append(await _timed(connection, bare))
        return
    target = connection.post_json("/auth/forgot-password", {"email": email})
    probe = connection.get("/bench/ping")
    samples.target[kind].append(await _timed(connection, target))
    samples.probe[kind].append(await _timed(connection, probe))


def _plan(rounds: int, seed: int) -> list[tuple[str, str]]:
    """(kind, address) per step. An "existing" target is an account's first request, so that
    it does all its work; a "throttled" one names the previous round's "existing" account
    (round 0: the warm-up's first, numbered after the rounds'), asked for well within the
    library's 60 s."""
    rng = random.Random(seed)
    steps: list[tuple[str, str]] = []
    for index in range(rounds):
        address = {
            "existing": settings.user_email(index),
            "throttled": settings.user_email(index - 1 if index else rounds),
            "unknown": settings.unknown_email(index),
            "bare": settings.unknown_email(index),
        }
        kinds = list(KINDS)
        rng.shuffle(kinds)
        steps += [(kind, address[kind]) for kind in kinds]
    return steps


def users_needed(rounds: int) -> int:
    """Accounts a server must hold: one per round, and the warm-up's after them."""
    return rounds + WARM_UP_STEPS


def _compare(known: list[float], unknown: list[float]) -> dict[str, Any]:
    known_summary, unknown_summary = summary(known), summary(unknown)
    return {
        "known": known_summary,
        "unknown": unknown_summary,
        "median_ratio": known_summary["median_ms"] / unknown_summary["median_ms"],
        "test": distinguishable(known, unknown),
        "samples_ms": {"known": [s * 1000 for s in known],
                       "unknown": [s * 1000 for s in unknown]},
    }  # fmt: skip


def _results(samples: _Samples) -> dict[str, Any]:
    forgot = [seconds for kind in TARGETS for seconds in samples.target[kind]]
    forgot_summary, bare_summary = summary(forgot), summary(samples.bare)
    return {
        # Each known kind against the unknown address: what an attacker compares.
        "probe": {kind: _compare(samples.probe[kind], samples.probe["unknown"])
                  for kind in ("existing", "throttled")},
        "target": {kind: _compare(samples.target[kind], samples.target["unknown"])
                   for kind in ("existing", "throttled")},
        "forgot_vs_bare": {
            "forgot_password": forgot_summary,
            "bare": bare_summary,
            "median_ratio": forgot_summary["median_ms"] / bare_summary["median_ms"],
            "test": distinguishable(forgot, samples.bare),
        },
    }  # fmt: skip


def _merged(parts: list[_Samples]) -> _Samples:
    merged = _Samples()
    for part in parts:
        for kind in TARGETS:
            merged.target[kind] += part.target[kind]
            merged.probe[kind] += part.probe[kind]
        merged.bare += part.bare
    return merged


def _per_process(part: _Samples) -> dict[str, float]:
    """The ratios of one server process alone: how much they vary between processes."""
    measured = _results(part)
    return {
        "existing": measured["probe"]["existing"]["median_ratio"],
        "throttled": measured["probe"]["throttled"]["median_ratio"],
        "forgot_vs_bare": measured["forgot_vs_bare"]["median_ratio"],
    }


async def measure(
    groups: dict[str, list[str]],
    rounds: int,
    gap_seconds: float,
    tick: Callable[[int], object],
) -> dict[str, Any]:
    """Per group of server processes with one configuration: probe latency after existing
    and throttled vs unknown targets, and forgot-password vs the bare endpoint, pooled over
    the group's processes, with each process's own ratios. ``rounds`` per process; ``tick``
    once per step of all servers."""
    urls = [url for group in groups.values() for url in group]
    clients = {url: await RawConnection(url).open() for url in urls}
    samples = {url: _Samples() for url in urls}
    plans = {url: _plan(rounds, seed) for seed, url in enumerate(urls, start=1)}
    try:
        warm_up = _Samples()  # connection, caches, the first token and thread of each server
        for url in urls:
            for index in range(WARM_UP_STEPS):
                client = clients[url]
                await _step(client, "existing", settings.user_email(rounds + index), warm_up)
                await _step(client, "unknown", settings.unknown_email(10**6 + index), warm_up)
                await _step(client, "bare", settings.unknown_email(index), warm_up)
        await asyncio.sleep(gap_seconds)
        loop = asyncio.get_running_loop()
        for position in range(len(KINDS) * rounds):
            round_started = loop.time()
            for url in urls:
                kind, email = plans[url][position]
                await _step(clients[url], kind, email, samples[url])
            tick(1)
            await asyncio.sleep(max(0.0, round_started + gap_seconds - loop.time()))
    finally:
        for client in clients.values():
            await client.close()
    return {
        name: {
            **_results(_merged([samples[url] for url in group])),
            "processes": len(group),
            "per_process": [_per_process(samples[url]) for url in group],
        }
        for name, group in groups.items()
    }
