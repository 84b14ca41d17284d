"""docs/benchmarks.md and its plots, from one results dictionary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from benchmarks import report_after_response
from benchmarks.report_tables import table as _table
from benchmarks.report_tables import verdict as _verdict

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
IMAGES = DOCS / "img"
NOTES = Path(__file__).resolve().parent / "notes.md"
FU = "fastapi-users"
OURS = ("this library (JWT)", "this library (Redis)")


def _resets_meanwhile(loop: dict[str, Any]) -> str:
    """The resets completed while the probes ran, with the window: its length is however
    long the probes took, so counts of two implementations compare only as rates."""
    done = loop["concurrent_resets_completed"]
    window = loop.get("window_seconds")
    return f"{done} in {window:.1f} s ({done / window:.1f}/s)" if window else f"{done}"


def targets(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(target, measured, verdict) rows."""
    impl = results["implementations"]
    fu_forgot = impl[FU]["forgot_password"]
    fu_reset = impl[FU]["reset_password"]["median_ms"]
    rows = []
    for name in OURS:
        forgot = impl[name]["forgot_password"]
        speedup = fu_forgot["existing"]["median_ms"] / forgot["existing"]["median_ms"]
        ratio = forgot["median_ratio_existing_over_unknown"]
        reset_speedup = fu_reset / impl[name]["reset_password"]["median_ms"]
        p99 = impl[name]["loop_freedom"]["p99_ms"]
        rows += [
            (f"{name}: existing e-mail answered ≥ 30× faster than fastapi-users",
             f"{speedup:.0f}×", _verdict(speedup >= 30)),
            (f"{name}: existing/unknown median ratio within 0.95–1.05",
             f"{ratio:.3f}", _verdict(0.95 <= ratio <= 1.05)),
            (f"{name}: reset ≥ 1.8× faster than fastapi-users",
             f"{reset_speedup:.2f}×", _verdict(reset_speedup >= 1.8)),
            (f"{name}: forgot-password p99 under 4 concurrent resets < 20 ms",
             f"{p99:.1f} ms", _verdict(p99 < 20)),
        ]  # fmt: skip
    for store in ("redis", "redis_cluster"):
        overhead = results["operations_per_second"][store]["overhead_over_floor"]
        rows.append((f"issue+consume overhead over raw redis-py ({store}) ≤ 25%",
                     f"{overhead:+.0%}", _verdict(overhead <= 0.25)))  # fmt: skip
    per_token = results["memory"]["memory_usage_bytes_per_token"]
    rows.append(("Redis memory per outstanding token ≤ 300 bytes",
                 f"{per_token:.0f} B", _verdict(per_token <= 300)))  # fmt: skip
    once = results["exactly_once_across_workers"]["successes_per_token"]
    rows.append(("single use across 4 workers: exactly one 200 per raced token",
                 f"{sorted(set(once))} over {len(once)} tokens", _verdict(set(once) == {1})))  # fmt: skip
    return rows + report_after_response.targets(results["after_response"])


def _plots(results: dict[str, Any]) -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    impl = results["implementations"]
    names = list(impl)

    figure, axis = plt.subplots(figsize=(8, 4))
    data, labels = [], []
    for name in names:
        samples = impl[name]["forgot_password"]["samples_ms"]
        data += [samples["existing"], samples["unknown"]]
        labels += [f"{name}\nexisting", f"{name}\nunknown"]
    axis.boxplot(data, showfliers=False)
    axis.set_xticks(range(1, len(labels) + 1), labels, fontsize=7)
    axis.set_yscale("log")
    axis.set_ylabel("ms (log)")
    axis.set_title("POST /forgot-password latency, hook waits 100 ms")
    figure.tight_layout()
    figure.savefig(IMAGES / "bench-forgot-latency.png", dpi=110)
    plt.close(figure)

    figure, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for axis, key, title in (
        (axes[0], "reset_password", "POST /reset-password"),
        (axes[1], "loop_freedom", "forgot-password during 4 resets"),
    ):
        medians = [impl[n][key]["median_ms"] for n in names]
        p99s = [impl[n][key]["p99_ms"] for n in names]
        positions = range(len(names))
        axis.bar([p - 0.2 for p in positions], medians, 0.4, label="median")
        axis.bar([p + 0.2 for p in positions], p99s, 0.4, label="p99")
        axis.set_xticks(list(positions), names, fontsize=7)
        axis.set_ylabel("ms")
        axis.set_title(title)
        axis.legend()
    figure.tight_layout()
    figure.savefig(IMAGES / "bench-reset-and-loop.png", dpi=110)
    plt.close(figure)

    ops = results["operations_per_second"]
    figure, axis = plt.subplots(figsize=(7, 3.4))
    labels = ["JWT", "Redis", "Redis floor", "Cluster", "Cluster floor"]
    values = [
        ops["jwt"],
        ops["redis"]["library_ops_per_second"],
        ops["redis"]["raw_redis_py_ops_per_second"],
        ops["redis_cluster"]["library_ops_per_second"],
        ops["redis_cluster"]["raw_redis_py_ops_per_second"],
    ]
    axis.bar(labels, values, color=["C0", "C1", "C7", "C2", "C7"])
    axis.set_yscale("log")
    axis.set_ylabel("issue + consume per second (log)")
    axis.set_title("In-process token operations, one coroutine")
    figure.tight_layout()
    figure.savefig(IMAGES / "bench-operations.png", dpi=110)
    plt.close(figure)

    scaling = results["scaling"]
    figure, axis = plt.subplots(figsize=(5, 3.4))
    workers = sorted(scaling, key=int)
    axis.plot([int(w) for w in workers], [scaling[w]["requests_per_second"] for w in workers], "o-")
    axis.set_xlabel("uvicorn workers")
    axis.set_ylabel("requests per second")
    axis.set_title("forgot-password, Redis tokens, one Redis")
    axis.set_xticks([int(w) for w in workers])
    figure.tight_layout()
    figure.savefig(IMAGES / "bench-scaling.png", dpi=110)
    plt.close(figure)


def _code_measured(source: dict[str, Any]) -> str:
    start, end = source["at_start"], source["at_end"]
    changed = start["src_files_changed"]
    dirty = f" with {changed} changed file(s) under src/" if changed else ""
    text = (
        f"Code measured: commit `{start['commit']}`{dirty}, source digest `{start['src_digest']}`."
    )
    if end["src_digest"] != start["src_digest"]:
        text += (
            f" **The library's source changed during the run** (digest `{end['src_digest']}` "
            f"at the end, commit `{end['commit']}`): sections that began after the change "
            "measured the new code, as the table below shows."
        )
    return text


def write(results: dict[str, Any]) -> None:
    _plots(results)
    report_after_response.plots(results["after_response"], IMAGES)
    impl = results["implementations"]
    env = results["environment"]
    machine = env["machine"]
    forgot_rows = []
    for name, measured in impl.items():
        forgot = measured["forgot_password"]
        test = forgot["test"]
        forgot_rows.append([
            name,
            f"{forgot['existing']['median_ms']:.2f} / {forgot['existing']['p99_ms']:.2f}",
            f"{forgot['unknown']['median_ms']:.2f} / {forgot['unknown']['p99_ms']:.2f}",
            f"{forgot['median_ratio_existing_over_unknown']:.3f}",
            f"{test['probability_a_slower']:.2f}",
            f"{test['p_value']:.2g}",
        ])  # fmt: skip
    other_rows = [
        [name,
         f"{m['reset_password']['median_ms']:.1f} / {m['reset_password']['p99_ms']:.1f}",
         f"{m['loop_freedom']['median_ms']:.1f} / {m['loop_freedom']['p99_ms']:.1f}",
         _resets_meanwhile(m["loop_freedom"])]
        for name, m in impl.items()
    ]  # fmt: skip
    ops = results["operations_per_second"]
    ops_rows = [["JWT", f"{ops['jwt']:,.0f}", "–", "–"]] + [
        [label, f"{ops[key]['library_ops_per_second']:,.0f}",
         f"{ops[key]['raw_redis_py_ops_per_second']:,.0f}",
         f"{ops[key]['overhead_over_floor']:+.0%}"]
        for label, key in (("Redis", "redis"), ("Redis Cluster", "redis_cluster"))
    ]  # fmt: skip
    memory = results["memory"]
    scaling_rows = [
        [w, f"{s['requests_per_second']:,.0f}", f"{s['non_2xx']:.0f}"]
        for w, s in sorted(results["scaling"].items(), key=lambda item: int(item[0]))
    ]
    target_rows = [list(row) for row in targets(results)]
    code = _code_measured(results["source"])
    quick_note = (
        " A quick run (`make bench-quick`): fewer samples than `make bench`, as each table says."
        if results.get("quick")
        else ""
    )
    notes = NOTES.read_text() if NOTES.exists() else ""
    text = f"""# Benchmarks

Produced by `{"make bench-quick" if results.get("quick") else "make bench"}` on {results["finished"]} ({results["duration_seconds"]:.0f} s); raw
numbers in `benchmarks/results/latest.json`. Each implementation runs as a real uvicorn server
on loopback, with the same FastAPI ({env["this_library_environment"]["fastapi"]}), the same
in-memory user store, the same argon2id parameters
({", ".join(f"{k}={v}" for k, v in env["parameters"]["argon2id"].items())}), an
`after_forgot_password` hook that waits {env["parameters"]["hook_delay_seconds"] * 1000:.0f} ms,
and the same client ({env["parameters"]["http_client"]}). fastapi-users
{env["fastapi_users_environment"]["fastapi-users"]} runs in its own virtual environment.

Machine: {machine["cpu"]}, {machine["cores"]} cores, {machine["memory_gib"]} GiB,
Python {machine["python"]}; {env["redis_server"].split(" sha")[0]}. {code}{quick_note}

The machine and the checkout are not reserved for the benchmark: CPU time used meanwhile by
other processes (another engineer's test runs, say) is measured per section from `/proc`, and
the digest of the library's source (`src/`) is taken as each section begins. Where other
processes took a large share, latencies in that section are inflated by it.

{report_after_response.load_table(results["machine_load"])}

## Targets

{_table(["target", "measured", ""], target_rows)}

## Forgot-password: does the answer time reveal whether an account exists?

Median / p99 in ms over {results["plan"]["forgot_pairs"]} existing and as many unknown e-mails,
interleaved at random on one keep-alive connection. *P(existing slower)* is the
Mann–Whitney U statistic over n₁·n₂: 0.5 means an observer cannot tell the two apart, 1.0 means
every existing-e-mail request was slower than every unknown one.

{_table(["implementation", "existing", "unknown", "median ratio", "P(existing slower)", "p-value"], forgot_rows)}

![forgot-password latency](img/bench-forgot-latency.png)

## Reset-password, and the event loop under load

Reset: `POST /reset-password` alone (a fresh token each time), median / p99 in ms.
Event loop: forgot-password latency (median / p99, ms) measured while four resets run back to
back on other connections; a blocked event loop shows up here.

{_table(["implementation", "reset", "forgot-password during 4 resets", "resets completed meanwhile (in how long)"], other_rows)}

![reset and event loop](img/bench-reset-and-loop.png)

## Token operations in-process

Issue + consume per second, one coroutine, next to raw redis-py running the same two scripts
with no library code around them (the floor).

{_table(["store", "library", "raw redis-py floor", "overhead"], ops_rows)}

![operations](img/bench-operations.png)

## Redis memory

{memory["tokens"]:,} outstanding tokens of {memory["users"]:,} users ({memory["keys"]:,} keys):
**{memory["memory_usage_bytes_per_token"]:.0f} bytes per token** by `MEMORY USAGE` over every
key, {memory["used_memory_bytes_per_token"]:.0f} bytes per token by the growth of `used_memory`.

## Several workers, one Redis

`POST /forgot-password` for existing users, wrk with 2 threads and 64 connections for
{results["plan"]["rps_seconds"]} s; the load generator shares the machine's cores with the
server.

{_table(["uvicorn workers", "requests per second", "non-2xx answers"], scaling_rows)}

![scaling](img/bench-scaling.png)

Single use across processes: {len(results["exactly_once_across_workers"]["successes_per_token"])}
tokens, each raced by {results["exactly_once_across_workers"]["racers_per_token"]} concurrent
connections spread over 4 workers; successes per token:
{sorted(set(results["exactly_once_across_workers"]["successes_per_token"]))}.

{report_after_response.section(results["after_response"])}
{notes}"""
    DOCS.mkdir(exist_ok=True)
    (DOCS / "benchmarks.md").write_text(text)


if __name__ == "__main__":
    import json

    write(json.loads((ROOT / "benchmarks" / "results" / "latest.json").read_text()))
