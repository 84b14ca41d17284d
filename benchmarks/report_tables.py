"""Markdown cells and tables shared by the report's parts."""

from __future__ import annotations

from typing import Any


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def ms(summary: dict[str, Any]) -> str:
    """Median / p99 of a summary, in ms."""
    return f"{summary['median_ms']:.2f} / {summary['p99_ms']:.2f}"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
