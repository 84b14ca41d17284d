"""What forgot-password leaves running after its answer: the measurements of issue 9.

- The next-request probe and forgot-password against a bare endpoint, on four servers (JWT and
  Redis tokens, an async and a sync mail hook of 50 ms), with the library's defaults.
- Failed log-ins against outdated and current hashes and unknown addresses.
- The CPU time of the job forgot-password leaves behind, per path, in-process.
- A flood with a 2 s sync hook, with the library's defaults and without the throttle, and the
  same flood against a bare endpoint as the control.
- Shutdown (SIGTERM, SIGINT) while a hook hangs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from benchmarks import flood, job_cost, login_timing, next_request, shutdown
from benchmarks.machine import Meter
from benchmarks.servers import PYTHON, AppServer

# A mail provider's HTTP API answers in tens of milliseconds; the hook only waits, so what the
# probe sees is the library's own share of the work, not the hook's.
PROBE_HOOK_SECONDS = 0.05
# Longer than the hook and the job around it, so that each step starts on a quiet process.
PROBE_GAP_SECONDS = 0.08
PROBE_PROCESSES = 2
FLOOD_HOOK_SECONDS = 2.0
SHUTDOWN_DRAIN_SECONDS = 2.0
SHUTDOWN_LIMIT_SECONDS = 15.0
EXIT_LIMIT_SECONDS = 60.0
# Label: (path flooded, extra settings). The bare endpoint is the control: the same load, no
# work left behind.
FLOODS = {
    "library defaults": ("/auth/forgot-password", {}),
    "no throttle": ("/auth/forgot-password", {"BENCH_MIN_INTERVAL": "0"}),
    "control: bare endpoint": ("/bench/bare", {}),
}


def plan(quick: bool) -> dict[str, int]:
    return {
        # Per process: PROBE_PROCESSES times as many samples per configuration.
        "probe_rounds": 50 if quick else 200,
        "login_triplets": 25 if quick else 80,
        "job_cost_calls": 300 if quick else 1000,
        "flood_requests": 2000,
        "flood_accounts": 200,
        "flood_connections": 16,
        "flood_after_seconds": 5 if quick else 10,
        # The hang is deterministic: one trial per signal says it.
        "hanging_trials_per_signal": 1,
    }


def steps(counts: dict[str, int]) -> int:
    """Progress-bar steps this module reports."""
    floods = len(FLOODS)
    hanging = shutdown.trials(counts["hanging_trials_per_signal"])
    probes = len(next_request.KINDS) * counts["probe_rounds"]
    job_costs = 2 * len(job_cost.HOOKS)
    return probes + counts["login_triplets"] + job_costs + floods + hanging


async def measure(
    redis_url: Callable[[int], str], counts: dict[str, int], bar: Any, meter: Meter
) -> dict[str, Any]:
    """``redis_url(db)``: a Redis database of its own per server, so that one server's
    throttle never makes another's existing addresses cheaper."""
    results: dict[str, Any] = {
        "plan": counts,
        "probe_processes": PROBE_PROCESSES,
        "probe_hook_seconds": PROBE_HOOK_SECONDS,
        "probe_gap_seconds": PROBE_GAP_SECONDS,
        "flood_hook_seconds": FLOOD_HOOK_SECONDS,
    }
    users = str(next_request.users_needed(counts["probe_rounds"]))
    configurations = [("JWT", "async"), ("JWT", "sync"), ("Redis", "async"), ("Redis", "sync")]
    probe_servers = {
        (f"{mode}, {hook} hook", process): {
            "BENCH_TOKENS": mode.lower(),
            "BENCH_HOOK": hook,
            "BENCH_HOOK_SECONDS": str(PROBE_HOOK_SECONDS),
            "BENCH_USERS": users,
            # A database per process: one's throttle must not make another's addresses cheaper.
            **({"REDIS_URL": redis_url(1 + 2 * n + process)} if mode == "Redis" else {}),
        }
        for n, (mode, hook) in enumerate(configurations)
        for process in range(PROBE_PROCESSES)
    }
    with contextlib.ExitStack() as running:
        started = {
            key: running.enter_context(AppServer(PYTHON, "benchmarks.app_ours", env))
            for key, env in probe_servers.items()
        }
        groups: dict[str, list[str]] = {}
        for (name, _), server in started.items():
            groups.setdefault(name, []).append(server.url)
        bar.set_description(f"next-request probe, {len(started)} servers taking turns")
        with meter.section("next-request probe"):
            results["next_request"] = await next_request.measure(
                groups, counts["probe_rounds"], PROBE_GAP_SECONDS, bar.update
            )
        bar.set_description("failed log-ins: outdated, current, unknown")
        with meter.section("failed log-ins"):
            results["login"] = await login_timing.measure(
                started["JWT, async hook", 0].url, counts["login_triplets"], bar.update
            )

    bar.set_description("CPU of the job per path, in-process")
    with meter.section("job CPU in-process"):
        results["job_cost"] = await job_cost.measure(
            redis_url, counts["job_cost_calls"], bar.update
        )

    results["flood"] = {}
    for label, (path, extra) in FLOODS.items():
        bar.set_description(f"flood, {label}")
        env = {"BENCH_TOKENS": "jwt", "BENCH_HOOK": "sync",
               "BENCH_HOOK_SECONDS": str(FLOOD_HOOK_SECONDS), **extra}  # fmt: skip
        with (
            meter.section(f"flood, {label}"),
            AppServer(PYTHON, "benchmarks.app_ours", env) as server,
        ):
            measured = await flood.measure(
                server.url,
                server.pid,
                path=path,
                requests=counts["flood_requests"],
                accounts=counts["flood_accounts"],
                connections=counts["flood_connections"],
                after_seconds=counts["flood_after_seconds"],
            )
            bar.set_description(f"flood, {label}: SIGTERM with the backlog")
            ended = server.stop(EXIT_LIMIT_SECONDS)
            measured["exit_after_sigterm"] = {
                "seconds": ended.seconds,
                "returncode": ended.returncode,
                "limit_seconds": EXIT_LIMIT_SECONDS,
            }
        results["flood"][label] = measured
        bar.update(1)

    bar.set_description("SIGTERM and SIGINT while a hook hangs")
    with meter.section("shutdown"):
        results["shutdown"] = await shutdown.measure(
            SHUTDOWN_DRAIN_SECONDS,
            counts["hanging_trials_per_signal"],
            SHUTDOWN_LIMIT_SECONDS,
            bar.update,
        )
    return results
