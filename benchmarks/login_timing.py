"""Does a failed log-in tell whether the account exists, or that its hash is outdated?

A wrong password is sent for three kinds of address, in random order per triplet on one
keep-alive connection: an account whose stored hash has outdated (cheaper) argon2 parameters,
an account with a current hash, and an address with no account. Each log-in is timed, and so
is a ``GET /bench/ping`` sent at once after it, as in the next-request probe.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from benchmarks import settings
from benchmarks.raw_http import RawConnection
from benchmarks.stats import distinguishable, summary

KINDS = ("outdated", "current", "unknown")
WRONG_PASSWORD = "not the passphrase"
LOGIN = "/auth/jwt/login"


def _address(kind: str, index: int) -> str:
    # As many current accounts as outdated ones, so that neither kind is more often cached.
    if kind == "outdated":
        return settings.outdated_email(index % settings.OUTDATED_USER_COUNT)
    if kind == "current":
        return settings.user_email(index % settings.OUTDATED_USER_COUNT)
    return settings.unknown_email(index)


async def _attempt(connection: RawConnection, email: str) -> tuple[float, float]:
    login = connection.post_form(LOGIN, {"username": email, "password": WRONG_PASSWORD})
    probe = connection.get("/bench/ping")
    status, login_seconds = await connection.send(login)
    if status != 400:
        raise RuntimeError(f"a wrong password answered {status}")
    _, probe_seconds = await connection.send(probe)
    return login_seconds, probe_seconds


def _against_current(samples: dict[str, list[float]]) -> dict[str, Any]:
    current = summary(samples["current"])
    compared: dict[str, Any] = {kind: summary(values) for kind, values in samples.items()}
    for kind in ("outdated", "unknown"):
        compared[f"{kind}_over_current"] = {
            "median_ratio": compared[kind]["median_ms"] / current["median_ms"],
            "test": distinguishable(samples[kind], samples["current"]),
        }
    compared["samples_ms"] = {kind: [s * 1000 for s in values] for kind, values in samples.items()}
    return compared


async def measure(url: str, triplets: int, tick: Callable[[int], object]) -> dict[str, Any]:
    rng = random.Random(7)
    logins: dict[str, list[float]] = {kind: [] for kind in KINDS}
    probes: dict[str, list[float]] = {kind: [] for kind in KINDS}
    connection = await RawConnection(url).open()
    try:
        for kind in KINDS:  # warm-up: the dummy hash is made on the first unknown address
            await _attempt(connection, _address(kind, 10_000_000))
        for index in range(triplets):
            order = list(KINDS)
            rng.shuffle(order)
            for kind in order:
                login, probe = await _attempt(connection, _address(kind, 2_000_000 + index))
                logins[kind].append(login)
                probes[kind].append(probe)
            tick(1)
    finally:
        await connection.close()
    return {"login": _against_current(logins), "probe": _against_current(probes)}
