"""One fastapi-users application, its stock reset router against the swapped one, side by side.

Two real uvicorn servers (one worker each, same settings) run `benchmarks.app_swap`, the
fastapi-users 15 SQLAlchemy example, each on its own database of one PostgreSQL server
(or SQLite files with ``--database sqlite``); they differ in the one ``include_router`` line.
Measured, the servers taking turns so that the drift of a shared machine hits both alike:

1. ``POST /auth/forgot-password`` latency, existing and unknown addresses;
2. ``POST /auth/reset-password`` latency, a fresh token each time;
3. the latency of ``GET /bench/ping`` and ``GET /authenticated-route`` while N resets run;
4. forgot-password requests/s under wrk, and the mails that followed.

Usage, in the environment that has fastapi-users::

    .venv-fastapi-users/bin/python -m benchmarks.swap [--quick] [--database sqlite]

Writes ``benchmarks/results/swap-<UTC timestamp>.json`` and prints the tables of
docs/fastapi-users-benchmark.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from benchmarks import settings, source, swap_load, swap_measures, swap_report
from benchmarks.environment import _cpu_model, _memory_gib, _versions
from benchmarks.machine import Meter, _process_table
from benchmarks.servers import ROOT, AppServer
from benchmarks.swap_measures import PROBE_EMAIL, PROBE_PASSWORD, Variant

RESULTS = ROOT / "benchmarks" / "results"
VARIANTS = ("stock", "swapped")


def plan(quick: bool) -> dict[str, int]:
    """Repetitions: the full run takes four to five minutes on two cores, ``--quick`` one."""
    scale = {"forgot_pairs": (20, 200), "resets": (8, 60), "loop_blocks": (1, 2),
             "loop_resets": (12, 50), "rps_blocks": (1, 2), "rps_seconds": (3, 6)}  # fmt: skip
    counts = {name: quick_and_full[0 if quick else 1] for name, quick_and_full in scale.items()}
    return {**counts, "concurrency": 4, "rps_connections": 16}


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Databases:
    """An empty database per variant, what serves them, and the server's process if any."""

    urls: dict[str, str]
    description: str
    server_pid: int | None = None

    def cpu_seconds(self) -> float:
        """CPU time of the database server and its backends (0 for SQLite, which runs in the
        application servers). Benchmark servers count as ours, PostgreSQL, a daemon, as
        another process; this puts it back on our side of the ledger."""
        if self.server_pid is None:
            return 0.0
        table = _process_table()
        tree, frontier = {self.server_pid}, [self.server_pid]
        while frontier:
            parent = frontier.pop()
            children = [pid for pid, (ppid, _) in table.items() if ppid == parent]
            tree.update(children)
            frontier += children
        return sum(table[pid][1] for pid in tree if pid in table)


@contextlib.contextmanager
def databases(kind: str) -> Iterator[Databases]:
    if kind == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix="swap-bench-"))
        try:
            urls = {v: f"sqlite+aiosqlite:///{directory / v}.db" for v in VARIANTS}
            yield Databases(urls, f"SQLite (aiosqlite), files in {directory}")
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    from tests.postgres_server import PostgresServer, _binary

    server = PostgresServer()
    server.start()
    try:
        urls = asyncio.run(_create_databases(server.url))
        version = subprocess.run(
            [_binary("postgres"), "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()
        pid = int((server.data / "postmaster.pid").read_text().split()[0])
        yield Databases(urls, f"{version} (asyncpg), fsync=off, loopback", pid)
    finally:
        server.stop()


async def _create_databases(server_url: str) -> dict[str, str]:
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            for name in VARIANTS:
                await connection.execute(text(f'CREATE DATABASE "swap_{name}"'))
    finally:
        await admin.dispose()
    return {name: server_url.rsplit("/", 1)[0] + f"/swap_{name}" for name in VARIANTS}


def describe(database: str, counts: dict[str, int]) -> dict[str, Any]:
    packages = ["fastapi-users", "fastapi-users-db-sqlalchemy", "fastapi-password-reset",
                "fastapi", "starlette", "uvicorn", "pydantic", "sqlalchemy", "asyncpg",
                "aiosqlite", "argon2-cffi", "pwdlib", "pyjwt", "httpx"]  # fmt: skip
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    return {
        "machine": {
            "cpu": _cpu_model(),
            "cores": os.cpu_count(),
            "memory_gib": _memory_gib(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "versions": _versions(sys.executable, packages),
        "database": database,
        "load_generator": wrk.split("\n")[0].strip(),
        "parameters": {
            "argon2id": settings.ARGON2,
            "hook_delay_seconds": settings.HOOK_DELAY_SECONDS,
            "users": settings.USER_COUNT,
            "uvicorn": "1 worker, --log-level warning, --no-access-log",
            "swapped_router": "min_interval_seconds=0, default JWT strategy and BackgroundWork",
            "http_client": "httpx, HTTP/1.1 keep-alive",
            **counts,
        },
    }


class Sections:
    """`Meter` sections, with the database server's CPU time moved from "other processes" to
    the benchmark's own."""

    def __init__(self, database: Databases) -> None:
        self.meter = Meter()
        self.database = database

    @contextlib.contextmanager
    def section(self, name: str) -> Iterator[None]:
        database_before = self.database.cpu_seconds()
        with self.meter.section(name):
            yield
        spent = self.database.cpu_seconds() - database_before
        record = self.meter.sections[name]
        record["database_cpu_seconds"] = spent
        record["other_cpu_seconds"] = max(0.0, record["other_cpu_seconds"] - spent)
        record["other_share_of_machine"] = record["other_cpu_seconds"] / (
            record["wall_seconds"] * (os.cpu_count() or 1)
        )


async def measure(
    variants: list[Variant], counts: dict[str, int], sections: Sections
) -> dict[str, Any]:
    for variant in variants:
        await swap_measures.log_in(variant, PROBE_EMAIL, PROBE_PASSWORD)
    results: dict[str, Any] = {}
    with sections.section("forgot_password"):
        results["forgot_password"] = await swap_measures.forgot_latency(
            variants, counts["forgot_pairs"], progress
        )
    with sections.section("reset_password"):
        results["reset_password"] = await swap_measures.reset_latency(
            variants, counts["resets"], progress
        )
    with sections.section("loop"):
        results["loop"] = await swap_measures.loop_responsiveness(
            variants, counts["loop_blocks"], counts["loop_resets"], counts["concurrency"], progress
        )
    with sections.section("throughput"):
        results["throughput"] = await swap_load.forgot_throughput(
            variants, counts["rps_blocks"], counts["rps_seconds"], counts["rps_connections"],
            progress,
        )  # fmt: skip
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of about a minute")
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    arguments = parser.parse_args()
    counts = plan(arguments.quick)
    started = datetime.now(UTC)
    code_at_start = source.snapshot()
    with databases(arguments.database) as database, contextlib.ExitStack() as running:
        progress(f"starting the servers on {database.description}")
        sections = Sections(database)
        servers = {
            name: running.enter_context(
                AppServer(
                    sys.executable,
                    "benchmarks.app_swap",
                    {"BENCH_SWAP_ROUTER": name, "BENCH_SWAP_DATABASE_URL": database.urls[name]},
                )
            )
            for name in VARIANTS
        }
        variants = [Variant(name, server.url) for name, server in servers.items()]
        results = asyncio.run(measure(variants, counts, sections))
        logs = {name: server.log()[-5000:] for name, server in servers.items()}
    result = {
        "started_utc": started.isoformat(timespec="seconds"),
        "quick": arguments.quick,
        "seconds": (datetime.now(UTC) - started).total_seconds(),
        "environment": describe(database.description, counts),
        "code": {"at_start": code_at_start, "at_end": source.snapshot()},
        "sections": sections.meter.sections,
        **results,
        "server_log_tails": logs,
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"swap-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    progress(f"wrote {path.relative_to(ROOT)} after {result['seconds']:.0f} s")
    print(swap_report.markdown(result))


if __name__ == "__main__":
    main()
