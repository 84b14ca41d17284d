"""`make bench`: run every measurement side by side and write the results and the report.

Usage: python -m benchmarks.run --fastapi-users-python PATH [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from datetime import UTC, datetime
from typing import Any

import redis.asyncio
from tqdm import tqdm

from benchmarks import (
    after_response,
    http_measures,
    inprocess,
    load,
    memory,
    report,
    source,
)
from benchmarks.environment import describe
from benchmarks.machine import Meter
from benchmarks.servers import PYTHON, ROOT, AppServer
from tests.redis_servers import RedisCluster, RedisServer, temporary_directory

RESULTS = ROOT / "benchmarks" / "results"


def plan(quick: bool) -> dict[str, int]:
    scale = 0.2 if quick else 1.0
    return {
        "forgot_pairs": int(300 * scale),
        "resets": int(100 * scale),
        "probes": int(200 * scale),
        "ops_seconds": int(max(4, 14 * scale)),
        "rps_seconds": int(max(2, 10 * scale)),
        "race_tokens": int(max(5, 20 * scale)),
        "race_connections": 30,
    }


async def measure_server(
    name: str, server: AppServer, counts: dict[str, int], bar: tqdm
) -> dict[str, Any]:
    def tick(n: int) -> None:
        bar.update(n)

    bar.set_description(f"{name}: forgot-password latency")
    forgot = await http_measures.forgot_latency(server.url, counts["forgot_pairs"], tick)
    bar.set_description(f"{name}: event loop under 4 resets")
    loop = await http_measures.loop_freedom(server.url, counts["probes"], tick)
    return {"forgot_password": forgot, "loop_freedom": loop}


async def compare_implementations(
    fastapi_users_python: str, redis_url: str, counts: dict[str, int], bar: tqdm
) -> dict[str, Any]:
    """fastapi-users and this library side by side, each a real uvicorn server."""
    implementations: dict[str, Any] = {}
    servers = {
        "fastapi-users": (fastapi_users_python, "benchmarks.app_fastapi_users", {}),
        "this library (JWT)": (PYTHON, "benchmarks.app_ours", {"BENCH_TOKENS": "jwt"}),
        "this library (Redis)": (
            PYTHON,
            "benchmarks.app_ours",
            {"BENCH_TOKENS": "redis", "REDIS_URL": redis_url},
        ),
    }
    with contextlib.ExitStack() as running:
        started = {
            name: running.enter_context(AppServer(python, module, env))
            for name, (python, module, env) in servers.items()
        }
        for name, server in started.items():
            implementations[name] = await measure_server(name, server, counts, bar)
        bar.set_description("reset latency, implementations taking turns")
        resets = await http_measures.reset_latency(
            {name: server.url for name, server in started.items()},
            counts["resets"],
            bar.update,
        )
        for name, measured in resets.items():
            implementations[name]["reset_password"] = measured
    return implementations


async def scaling(redis_url: str, counts: dict[str, int], bar: tqdm) -> dict[str, Any]:
    results: dict[str, Any] = {"scaling": {}}
    env = {"BENCH_TOKENS": "redis", "REDIS_URL": redis_url}
    for workers in (1, 2, 4):
        bar.set_description(f"forgot-password rps, {workers} worker(s)")
        with AppServer(PYTHON, "benchmarks.app_ours", env, workers) as server:
            results["scaling"][str(workers)] = load.forgot_password_rps(
                server.url, counts["rps_seconds"], 64
            )
            if workers == 4:
                bar.set_description("single use across 4 workers")
                results[
                    "exactly_once_across_workers"
                ] = await http_measures.exactly_once_across_workers(
                    server.url, counts["race_tokens"], counts["race_connections"]
                )
                bar.update(1)
        bar.update(1)
    return results


async def run(fastapi_users_python: str, quick: bool, meter: Meter) -> dict[str, Any]:
    counts = plan(quick)
    after_counts = after_response.plan(quick)
    per_server = counts["forgot_pairs"] + counts["resets"] + counts["probes"]
    total = 3 * per_server + 3 + 1 + 3 + 1 + after_response.steps(after_counts)
    results: dict[str, Any] = {"plan": counts}
    single = RedisServer(temporary_directory())
    cluster = RedisCluster(temporary_directory())
    single.start()
    cluster.start()
    try:
        with tqdm(total=total, unit="step", dynamic_ncols=True, mininterval=2) as bar:
            with meter.section("fastapi-users comparison"):
                results["implementations"] = await compare_implementations(
                    fastapi_users_python, single.url, counts, bar
                )

            bar.set_description("in-process issue + consume")
            with meter.section("in-process operations and memory"):
                single_client = redis.asyncio.Redis.from_url(single.url)
                cluster_client = redis.asyncio.RedisCluster.from_url(cluster.url)
                results["operations_per_second"] = await inprocess.measure(
                    single_client, cluster_client, counts["ops_seconds"], bar.update
                )
                bar.set_description("Redis memory per token")
                results["memory"] = await memory.per_token(single_client)
                bar.update(1)
                await single_client.aclose()
                await cluster_client.aclose()

            with meter.section("workers"):
                results |= await scaling(single.url, counts, bar)

            # Databases 1 and up: the servers above used database 0.
            database_zero = single.url.removesuffix("/0")
            results["after_response"] = await after_response.measure(
                lambda db: f"{database_zero}/{db}", after_counts, bar, meter
            )
    finally:
        cluster.stop()
        single.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fastapi-users-python", required=True)
    parser.add_argument("--quick", action="store_true", help="fewer samples (a fifth of most)")
    args = parser.parse_args()
    started = time.time()
    source_at_start = source.snapshot()
    meter = Meter()
    with meter.section("whole run"):
        results = asyncio.run(run(args.fastapi_users_python, args.quick, meter))
    results["environment"] = describe(args.fastapi_users_python)
    results["source"] = {"at_start": source_at_start, "at_end": source.snapshot()}
    results["machine_load"] = meter.sections
    results["quick"] = args.quick
    results["duration_seconds"] = time.time() - started
    results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(results, indent=1)
    (RESULTS / f"{stamp}.json").write_text(text)
    (RESULTS / "latest.json").write_text(text)
    report.write(results)
    print(f"results: {RESULTS / 'latest.json'}; report: docs/benchmarks.md")


if __name__ == "__main__":
    main()
