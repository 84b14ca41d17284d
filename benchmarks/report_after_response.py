"""The after-response part of docs/benchmarks.md: targets, tables and plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

from benchmarks.report_tables import ms, table, verdict

# The library's BackgroundWork defaults: jobs running at once, and waiting to run.
MAX_RUNNING, MAX_PENDING = 100, 1000
PROBE_BAND = (0.95, 1.05)
# Criteria of "stays fast" chosen here (the issue saw 9 s time-outs): while the flood's jobs
# wait for the hook threads, the application's sync endpoint answers with a p99 under 50 ms
# and a log-in in a median under twice its baseline.
SYNC_P99_MS = 50.0
LOGIN_SLOWDOWN = 2.0
ENDPOINTS = (
    ("sync `def` endpoint", "sync_endpoint"),
    ("async endpoint", "async_endpoint"),
    ("log-in", "login"),
)
# A shutdown is "about the drain timeout" when it takes at most this much longer.
EXIT_SLACK_SECONDS = 1.5


def _in_band(ratio: float) -> bool:
    return PROBE_BAND[0] <= ratio <= PROBE_BAND[1]


def _ratio_cell(compared: dict[str, Any]) -> str:
    return f"{compared['median_ratio']:.3f} (p = {compared['test']['p_value']:.2g})"


def targets(after: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    for server, measured in after["next_request"].items():
        for kind in ("existing", "throttled"):
            compared = measured["probe"][kind]
            rows.append((
                f"{server}: probe after {kind} / after unknown, median ratio in 0.95–1.05",
                _ratio_cell(compared), verdict(_in_band(compared["median_ratio"])),
            ))  # fmt: skip
    for server, measured in after["next_request"].items():
        ratio = measured["forgot_vs_bare"]["median_ratio"]
        rows.append((f"{server}: forgot-password ≤ 1.10× a bare endpoint (medians)",
                     f"{ratio:.3f}", verdict(ratio <= 1.10)))  # fmt: skip
    login = after["login"]["login"]
    for kind in ("outdated", "unknown"):
        compared = login[f"{kind}_over_current"]
        rows.append((
            f"failed log-in, {kind} / current hash, median ratio in 0.95–1.05",
            _ratio_cell(compared), verdict(_in_band(compared["median_ratio"])),
        ))  # fmt: skip
    for label, flood in after["flood"].items():
        if label.startswith("control"):
            continue
        bound = MAX_RUNNING + MAX_PENDING
        sync_p99 = flood["sync_endpoint"]["after"]["p99_ms"]
        login_ratio = flood["login"]["after"]["median_ms"] / flood["baseline"]["login"]["median_ms"]
        exit_seconds = flood["exit_after_sigterm"]["seconds"]
        rows += [
            (f"flood ({label}): pending jobs ≤ max_running + max_pending = {bound}",
             str(flood["peak_pending"]), verdict(flood["peak_pending"] <= bound)),
            (f"flood ({label}): sync endpoint p99 < {SYNC_P99_MS:.0f} ms while the jobs wait",
             f"{sync_p99:.1f} ms", verdict(sync_p99 < SYNC_P99_MS)),
            (f"flood ({label}): log-in median < {LOGIN_SLOWDOWN:.0f}× baseline while the "
             "jobs wait", f"{login_ratio:.2f}×", verdict(login_ratio < LOGIN_SLOWDOWN)),
            (f"flood ({label}): exit on SIGTERM ≤ drain timeout (10 s) + {EXIT_SLACK_SECONDS} s",
             _seconds(exit_seconds),
             verdict(exit_seconds is not None and exit_seconds <= 10 + EXIT_SLACK_SECONDS)),
        ]  # fmt: skip
    shutdown = after["shutdown"]
    limit = shutdown["drain_timeout_seconds"] + EXIT_SLACK_SECONDS
    for trial in shutdown["hanging_hook"]:
        seconds = trial["exit_seconds"]
        rows.append((
            f"hanging hook: exit on {trial['signal']} ≤ drain timeout "
            f"({shutdown['drain_timeout_seconds']:.0f} s) + {EXIT_SLACK_SECONDS} s",
            _seconds(seconds, shutdown["limit_seconds"]),
            verdict(seconds is not None and seconds <= limit),
        ))  # fmt: skip
    return rows


def _seconds(seconds: float | None, limit: float | None = None) -> str:
    if seconds is None:
        return f"did not exit in {limit:.0f} s" if limit else "did not exit"
    return f"{seconds:.2f} s"


def _probe_table(after: dict[str, Any]) -> str:
    rows = []
    for server, measured in after["next_request"].items():
        existing, throttled = measured["probe"]["existing"], measured["probe"]["throttled"]
        rows.append([
            server, ms(existing["known"]), ms(throttled["known"]), ms(existing["unknown"]),
            _ratio_cell(existing), f"{existing['test']['probability_a_slower']:.2f}",
            _ratio_cell(throttled), f"{throttled['test']['probability_a_slower']:.2f}",
            _per_process(measured, "existing"), _per_process(measured, "throttled"),
        ])  # fmt: skip
    return table(
        ["configuration", "probe after existing", "after throttled", "after unknown",
         "existing / unknown", "P(slower)", "throttled / unknown", "P(slower)",
         "existing / unknown, per process", "throttled / unknown, per process"], rows,
    )  # fmt: skip


def _per_process(measured: dict[str, Any], key: str) -> str:
    return ", ".join(f"{process[key]:.3f}" for process in measured["per_process"])


def _target_table(after: dict[str, Any]) -> str:
    rows = []
    for server, measured in after["next_request"].items():
        existing, throttled = measured["target"]["existing"], measured["target"]["throttled"]
        rows.append([
            server, ms(existing["known"]), ms(throttled["known"]), ms(existing["unknown"]),
            _ratio_cell(existing), _ratio_cell(throttled),
        ])  # fmt: skip
    return table(["configuration", "existing", "throttled", "unknown", "existing / unknown",
                  "throttled / unknown"], rows)  # fmt: skip


def _bare_table(after: dict[str, Any]) -> str:
    rows = []
    for server, measured in after["next_request"].items():
        compared = measured["forgot_vs_bare"]
        rows.append([server, ms(compared["forgot_password"]), ms(compared["bare"]),
                     f"{compared['median_ratio']:.3f}", f"{compared['test']['p_value']:.2g}",
                     _per_process(measured, "forgot_vs_bare")])  # fmt: skip
    return table(["configuration", "forgot-password", "bare endpoint", "median ratio", "p-value",
                  "per process"], rows)  # fmt: skip


def _login_table(after: dict[str, Any]) -> str:
    login, probe = after["login"]["login"], after["login"]["probe"]
    rows = []
    for kind in ("outdated", "current", "unknown"):
        against = "–" if kind == "current" else _ratio_cell(login[f"{kind}_over_current"])
        probe_against = "–" if kind == "current" else _ratio_cell(probe[f"{kind}_over_current"])
        rows.append([kind, ms(login[kind]), against, ms(probe[kind]), probe_against])
    return table(["stored hash", "log-in", "/ current", "probe after it", "/ current"], rows)


def _job_cost_table(after: dict[str, Any]) -> str:
    rows = []
    for config, measured in after["job_cost"].items():
        cpu = measured["median_cpu_us"]
        rows.append([
            config, f"{cpu['existing']:.0f}", f"{cpu['throttled']:.0f}", f"{cpu['unknown']:.0f}",
            f"{measured['existing_minus_unknown_us']:+.0f} "
            f"(p = {measured['existing_vs_unknown']['p_value']:.2g})",
            f"{measured['throttled_minus_unknown_us']:+.0f} "
            f"(p = {measured['throttled_vs_unknown']['p_value']:.2g})",
        ])  # fmt: skip
    return table(["tokens, hook", "existing", "throttled", "unknown", "existing − unknown",
                  "throttled − unknown"], rows)  # fmt: skip


def _flood_tables(after: dict[str, Any]) -> tuple[str, str]:
    counts, latency = [], []
    for label, flood in after["flood"].items():
        outcomes = flood["with_backlog"]["outcomes"]
        ended = flood["exit_after_sigterm"]
        counts.append([
            label, f"{flood['flood_seconds']:.1f} s",
            ", ".join(f"{n} × {code}" for code, n in flood["answers"].items()),
            str(flood["peak_pending"]), str(flood["with_backlog"]["pending"]),
            str(flood["with_backlog"]["shed"]),
            f"{outcomes.get('token_issued', 0)} / {outcomes.get('throttled', 0)} / "
            f"{outcomes.get('mail_sent', 0)}",
            " → ".join(_mib(kib) for kib in (flood["baseline"]["rss_kib"],
                                               flood["rss_at_flood_end_kib"],
                                               flood["with_backlog"]["rss_kib"])),
            f"{_mib(flood['baseline']['peak_rss_kib'])} → {_mib(flood['peak_rss_kib'])}",
            f"{_seconds(ended['seconds'], ended['limit_seconds'])} ({ended['returncode']})",
        ])  # fmt: skip
        for endpoint, key in ENDPOINTS:
            phases = flood[key]
            latency.append([
                label, endpoint, ms(flood["baseline"][key]),
                _phase(phases["during"]), _phase(phases["after"]),
            ])  # fmt: skip
    return (
        table(["flood", "sent in", "answers", "peak pending", "pending after",
               "shed", "tokens / throttled / mails sent", "RSS MiB: before → end of flood → "
               "with backlog", "peak RSS MiB: before → flood", "exit on SIGTERM (code)"],
              counts),
        table(["flood", "endpoint", "baseline", "while the requests arrive",
               "afterwards, while the jobs wait"], latency),
    )  # fmt: skip


def _mib(kib: int) -> str:
    return f"{kib / 1024:.0f}"


def _phase(summary: dict[str, Any]) -> str:
    if not summary["n"]:
        return "no sample"
    return f"{ms(summary)}, max {summary['max_ms']:.0f} (n = {summary['n']})"


def _shutdown_table(after: dict[str, Any]) -> str:
    shutdown = after["shutdown"]
    rows = []
    for job, trials in (("hook hanging", shutdown["hanging_hook"]),
                        ("none (control)", shutdown["no_hook_running"])):  # fmt: skip
        for trial in trials:
            rows.append([
                trial["signal"], job, str(trial["pending_at_signal"]),
                _seconds(trial["exit_seconds"], shutdown["limit_seconds"]),
                str(trial["returncode"]),
                "; ".join(f"`{line}`" for line in trial["log_tail"]) or "–",
            ])  # fmt: skip
    return table(["signal", "background job", "pending", "exit after", "exit code",
                  "server log"], rows)  # fmt: skip


def load_table(sections: dict[str, dict[str, Any]]) -> str:
    rows = [
        [name, f"`{s['src_digest_at_start']}`", f"{s['wall_seconds']:.0f} s",
         f"{s['benchmark_cpu_seconds']:.0f} s", f"{s['other_cpu_seconds']:.0f} s",
         f"{s['other_share_of_machine']:.0%}"]
        for name, s in sections.items()
    ]  # fmt: skip
    return table(["section", "src digest", "wall time", "CPU: benchmark",
                  "CPU: other processes", "other processes' share of the cores"], rows)  # fmt: skip


def _rolling_minimum(values: list[float], width: int = 10) -> list[float]:
    """Each sample's minimum over the last ``width`` (1 s at the monitor's 10 Hz): each log-in's
    argon2 run holds 64 MiB for a moment, and the raw line would show little else."""
    return [min(values[max(0, i - width + 1) : i + 1]) for i in range(len(values))]


def plots(after: dict[str, Any], images: Path) -> None:
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for label, flood in after["flood"].items():
        times = [sample["at"] for sample in flood["timeline"]]
        axes[0].plot(times, [sample["pending"] for sample in flood["timeline"]], label=label)
        axes[1].plot(times, _rolling_minimum([s["rss_kib"] / 1024 for s in flood["timeline"]]),
                     label=label)  # fmt: skip
    axes[0].axhline(MAX_RUNNING + MAX_PENDING, color="grey", linestyle=":", label="bound")
    axes[0].set_title("background jobs pending")
    axes[1].set_title("server RSS, MiB (1 s rolling minimum: no log-in's argon2)")
    for axis in axes:
        axis.set_xlabel("seconds since the flood began")
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(images / "bench-flood.png", dpi=110)
    plt.close(figure)

    figure, axis = plt.subplots(figsize=(9, 3.8))
    data, labels = [], []
    for server, measured in after["next_request"].items():
        probe = measured["probe"]
        data += [probe["existing"]["samples_ms"]["known"],
                 probe["throttled"]["samples_ms"]["known"],
                 probe["existing"]["samples_ms"]["unknown"]]  # fmt: skip
        labels += [f"{server}\nexisting", "throttled", "unknown"]
    axis.boxplot(data, showfliers=False)
    axis.set_xticks(range(1, len(labels) + 1), labels, fontsize=6)
    axis.set_ylabel("probe latency, ms")
    axis.set_title("GET /bench/ping sent right after a forgot-password")
    figure.tight_layout()
    figure.savefig(images / "bench-next-request.png", dpi=110)
    plt.close(figure)


def section(after: dict[str, Any]) -> str:
    counts = after["plan"]
    flood_counts, flood_latency = _flood_tables(after)
    hook_ms = after["probe_hook_seconds"] * 1000
    return f"""## After the answer: what forgot-password leaves behind

More servers of this library, for each token mode and mail hook: an async hook that awaits
`asyncio.sleep({after["probe_hook_seconds"]})` and a sync one that calls
`time.sleep({after["probe_hook_seconds"]})` (a mail provider's HTTP API answers in tens of
milliseconds; the hook only waits, so what shows here is the library's own work, not the
hook's), with the library's defaults (`BackgroundWork()`, `min_interval_seconds=60`) and no
`after_forgot_password_unknown`. Each Redis-mode server has a database of its own.

### The next request

Each configuration runs in {after["probe_processes"]} server processes (ratios vary more
between processes than one process's p-value says; the last columns show each process's),
{counts["probe_rounds"]} rounds per process, so
{counts["probe_rounds"] * after["probe_processes"]} samples per kind and configuration. In each
round, in random order: a forgot-password for an
existing account asked for the first time (it gets a token and the mail hook runs), one for the
account of the previous round (throttled: no token, no mail), one for an unknown address, and
a bare-endpoint request (below). Each forgot-password is followed at once, on the same
keep-alive connection, by a probe `GET /bench/ping`; the table gives the probe's median / p99 in
ms. The client is a minimal one (`benchmarks/raw_http.py`: the request's bytes are built before
the clock starts), as a hostile client measuring time would use: httpx spends about a
millisecond of the client's own CPU per request, which would dilute every ratio here. Each
step starts {after["probe_gap_seconds"] * 1000:.0f} ms after the server's previous one (longer
than the {hook_ms:.0f} ms hook), the servers taking turns. The ratio is of medians, the
p-value is the two-sided Mann–Whitney U test, and *P(slower)* is U / (n₁·n₂): the
probability that a probe after a known address is slower than one after an unknown address
(0.5: indistinguishable).

{_probe_table(after)}

![next-request probe](img/bench-next-request.png)

The targets themselves (the forgot-password requests), median / p99 in ms:

{_target_table(after)}

### Forgot-password against a bare endpoint

The same servers and rounds: every forgot-password above
({3 * counts["probe_rounds"] * after["probe_processes"]} per configuration) against
{counts["probe_rounds"] * after["probe_processes"]} `POST /bench/bare`, an endpoint taking
the same body model (the library's `Email` type) and answering 202 `null`, idiomatic FastAPI
(`status_code=202`, returns `None`), sent in the same rounds by the same client. Median / p99
in ms.

{_bare_table(after)}

### Failed log-ins

{counts["login_triplets"]} triplets on one JWT/async server: a wrong password for an account
whose stored hash has outdated argon2id parameters (OWASP's minimum: m=19 MiB, t=2, p=1), one
with a current hash, and an unknown address, in random order per triplet, on one keep-alive
connection (the same minimal client); each followed at once by a probe `GET /bench/ping`.
Median / p99 in ms.

{_login_table(after)}

### The job's CPU time, in-process

What the probe looks for, counted directly: `PasswordResetService.forgot_password` (the job the
route hands to the background) awaited in the benchmark's own process for an existing account's
first request, a throttled one and an unknown address, in random order,
{counts["job_cost_calls"]} calls per path, with the process's CPU time (all threads) read
around each call. Median µs per call; p from Mann–Whitney U. The no-op hooks show the library's
share (and the in-memory user database's); the hooks that wait 1 ms add what waiting costs the
process (a timer, or a thread's wake-up).

{_job_cost_table(after)}

### A flood with a slow sync hook

{counts["flood_requests"]:,} forgot-password requests for {counts["flood_accounts"]} accounts
over {counts["flood_connections"]} keep-alive connections, as fast as the client sends them,
with a sync mail hook of {after["flood_hook_seconds"]:.0f} s (`time.sleep`), JWT mode, the
library's `BackgroundWork` defaults (max_pending {MAX_PENDING}, max_running {MAX_RUNNING},
4 hook threads, drain timeout 10 s); with the default throttle (60 s) and without it (0). The
control sends the same flood to the bare endpoint. Meanwhile the application's own sync
endpoint (`def`, on AnyIO's thread pool) and an async one are timed every 20 ms, a log-in with
the right password every 100 ms, and the queue and the server's RSS are read every 100 ms;
sampling goes on for {counts["flood_after_seconds"]} s after the last request. Then the server
gets SIGTERM with its backlog.

{flood_counts}

"Pending after" and "with backlog" are read 0.5 s after sampling stopped, so that no log-in's
argon2 memory (64 MiB) is counted; the peak (VmHWM) includes it, hence the peak before the
flood. Exit code −15: the process ended by SIGTERM, which uvicorn raises again after its
shutdown.

Latency, median / p99 in ms:

{flood_latency}

![flood](img/bench-flood.png)

### Shutdown while a hook hangs

A sync hook that sleeps an hour, JWT mode, `BackgroundWork(drain_timeout_seconds=
{after["shutdown"]["drain_timeout_seconds"]:.0f})` to keep the run short. A forgot-password for
an existing account starts the hook; 0.5 s later the server gets the signal. The control asks
for an unknown address (no hook). Killed after {after["shutdown"]["limit_seconds"]:.0f} s.

{_shutdown_table(after)}
"""
