"""How much of the machine the benchmark had: CPU time used by other processes meanwhile.

On a shared machine (a developer running the tests while the benchmark runs) other processes
take cores from the servers and the client, and latencies grow for reasons that are not the
code measured. Each section records the machine's busy CPU time (``/proc/stat``) and the part
used by this process and its descendants (``/proc/PID/stat``, reaped children included), so
that the report can say what the rest of the machine took.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks import source

_TICK = os.sysconf("SC_CLK_TCK")


def _machine_busy_seconds() -> float:
    # user nice system idle iowait irq softirq steal ...: everything but idle and iowait.
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / _TICK


def _process_table() -> dict[int, tuple[int, float]]:
    """pid: (parent pid, CPU seconds of it and its reaped children)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # The command name (field 2) may hold spaces; the fields after it are fixed.
        fields = stat[stat.rindex(")") + 2 :].split()
        table[int(entry.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]) / _TICK)
    return table


def _our_seconds() -> float:
    table = _process_table()
    ours, frontier = {os.getpid()}, [os.getpid()]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, (ppid, _) in table.items() if ppid == parent]
        ours.update(children)
        frontier += children
    return sum(table[pid][1] for pid in ours if pid in table)


class Meter:
    """Records, per named section, wall time and CPU seconds (ours and everybody else's), and
    the digest of the library's source when the section began."""

    def __init__(self) -> None:
        self.sections: dict[str, dict[str, Any]] = {}

    @contextmanager
    def section(self, name: str) -> Iterator[None]:
        code = source.digest()
        started, busy, ours = time.monotonic(), _machine_busy_seconds(), _our_seconds()
        yield
        wall = time.monotonic() - started
        busy, ours = _machine_busy_seconds() - busy, _our_seconds() - ours
        self.sections[name] = {
            "src_digest_at_start": code,
            "wall_seconds": wall,
            "benchmark_cpu_seconds": ours,
            # Descendants that exit between two readings and are reaped by a process outside
            # the tree are not seen; none here (every child is waited for by its parent).
            "other_cpu_seconds": max(0.0, busy - ours),
            "other_share_of_machine": max(0.0, busy - ours) / (wall * (os.cpu_count() or 1)),
        }
