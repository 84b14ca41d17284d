"""The Markdown table of a `benchmarks.swap` result, as docs/fastapi-users-benchmark.md shows it."""

from __future__ import annotations

import statistics
from typing import Any

from benchmarks.swap_measures import AUTHENTICATED, PING


def _median(summary: dict[str, Any]) -> str:
    low, high = summary["median_ci95_ms"]
    return f"{summary['median_ms']:.1f} [{low:.1f}–{high:.1f}]"


def _ratio(comparison: dict[str, Any]) -> str:
    low, high = comparison["ci95"]
    return f"{comparison['swapped_over_stock']:.3f} [{low:.3f}–{high:.3f}]"


def latency_table(result: dict[str, Any]) -> str:
    """Medians in ms with their 95% CIs, and swapped/stock with its bootstrap 95% CI."""
    forgot, reset, loop = result["forgot_password"], result["reset_password"], result["loop"]
    n = loop["concurrent_resets"]
    rows: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any] | None]] = [
        ("`POST /auth/forgot-password`, existing address",
         forgot["stock"]["existing"], forgot["swapped"]["existing"],
         forgot["swapped_vs_stock"]["existing"]),
        ("`POST /auth/forgot-password`, unknown address",
         forgot["stock"]["unknown"], forgot["swapped"]["unknown"],
         forgot["swapped_vs_stock"]["unknown"]),
        ("`POST /auth/reset-password`, fresh token",
         reset["stock"], reset["swapped"], reset["swapped_vs_stock"]),
        ("`GET /bench/ping`, idle",
         loop["stock"]["idle"][PING], loop["swapped"]["idle"][PING],
         loop["swapped_vs_stock"].get(f"idle {PING}")),
        (f"`GET /bench/ping`, {n} resets running",
         loop["stock"]["under_resets"][PING], loop["swapped"]["under_resets"][PING],
         loop["swapped_vs_stock"][PING]),
        ("`GET /authenticated-route`, idle",
         loop["stock"]["idle"][AUTHENTICATED], loop["swapped"]["idle"][AUTHENTICATED],
         loop["swapped_vs_stock"].get(f"idle {AUTHENTICATED}")),
        (f"`GET /authenticated-route`, {n} resets running",
         loop["stock"]["under_resets"][AUTHENTICATED],
         loop["swapped"]["under_resets"][AUTHENTICATED], loop["swapped_vs_stock"][AUTHENTICATED]),
        (f"`POST /auth/reset-password`, {n} at once",
         loop["stock"]["resets_under_load"], loop["swapped"]["resets_under_load"],
         loop["swapped_vs_stock"].get("resets_under_load")),
    ]  # fmt: skip
    lines = [
        "| request | n (stock / swapped) | stock, ms | swapped, ms | swapped / stock |",
        "|---|---|---|---|---|",
    ]
    for label, stock, swapped, comparison in rows:
        lines.append(
            f"| {label} | {stock['n']} / {swapped['n']} | {_median(stock)} | {_median(swapped)} "
            f"| {_ratio(comparison) if comparison else '–'} |"
        )
    return "\n".join(lines)


def tail_table(result: dict[str, Any]) -> str:
    """p99 and max of the probes under load, and the enumeration signal of forgot-password."""
    forgot, loop = result["forgot_password"], result["loop"]
    lines = ["| | stock | swapped |", "|---|---|---|"]
    for name, label in (
        ("existing_minus_unknown_median_ms", "forgot: existing − unknown, median ms"),
    ):
        lines.append(f"| {label} | {forgot['stock'][name]:.1f} | {forgot['swapped'][name]:.2f} |")
    for key, label in (("probability_a_slower", "forgot: P(existing slower than unknown)"),
                       ("p_value", "forgot: Mann-Whitney p-value")):  # fmt: skip
        lines.append(
            f"| {label} | {forgot['stock']['existing_vs_unknown'][key]:.3g} "
            f"| {forgot['swapped']['existing_vs_unknown'][key]:.3g} |"
        )
    for path in (PING, AUTHENTICATED):
        for stat in ("p99_ms", "max_ms"):
            lines.append(
                f"| `GET {path}` under resets, {stat.removesuffix('_ms')} ms "
                f"| {loop['stock']['under_resets'][path][stat]:.1f} "
                f"| {loop['swapped']['under_resets'][path][stat]:.1f} |"
            )
    lines.append(
        "| resets completed per second under load, per block "
        f"| {', '.join(f'{r:.2f}' for r in loop['stock']['resets_per_second_by_block'])} "
        f"| {', '.join(f'{r:.2f}' for r in loop['swapped']['resets_per_second_by_block'])} |"
    )
    return "\n".join(lines)


def throughput_table(result: dict[str, Any]) -> str:
    """Per variant: requests/s answered and mails sent per second of load, over the blocks."""
    throughput = result.get("throughput")
    if not throughput:
        return "(not measured)"
    lines = [
        "| | stock | swapped |",
        "|---|---|---|",
    ]

    def per_block(name: str, value: Any) -> str:
        values = [value(block) for block in throughput[name]["blocks"]]
        middle = statistics.median(values)
        return f"{middle:.1f} ({', '.join(f'{v:.1f}' for v in values)})"

    rows: list[tuple[str, Any]] = [
        ("answers/s, median (blocks)", lambda b: b["requests_per_second"]),
        ("mails sent per second, load start to last mail", lambda b: b["mails_per_second"]),
        ("mails sent", lambda b: float(b["mails_sent"])),
        ("jobs shed", lambda b: float(b["jobs_shed"])),
        ("jobs waiting, ¾ into the load", lambda b: float(b["pending_during_load"])),
        (
            "pool connections in use, ¾ into the load",
            lambda b: float(b["db_connections_during_load"]),
        ),
        ("wrk p50 latency, ms", lambda b: b.get("p50_ms", float("nan"))),
        ("wrk p99 latency, ms", lambda b: b.get("p99_ms", float("nan"))),
        ("non-2xx + socket errors", lambda b: float(b["non_2xx"] + sum(b["socket_errors"]))),
        ("seconds until the last mail after the load", lambda b: b["seconds_to_settle_after_load"]),
    ]
    for label, value in rows:
        lines.append(f"| {label} | {per_block('stock', value)} | {per_block('swapped', value)} |")
    return "\n".join(lines)


def markdown(result: dict[str, Any]) -> str:
    return "\n\n".join((latency_table(result), tail_table(result), throughput_table(result)))
