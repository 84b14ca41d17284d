"""Forgot-password under load: wrk's requests per second, and the mails that followed."""

from __future__ import annotations

import asyncio
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import settings
from benchmarks.swap_measures import Progress, Variant, wait_settled

_WRK_SCRIPT = """
math.randomseed(os.time())
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local body = string.format('{"email": "user%d@bench.example.com"}', math.random(0, MAX_INDEX))
  return wrk.format(nil, "/auth/forgot-password", nil, body)
end
"""
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _wrk(url: str, seconds: int, connections: int) -> dict[str, Any]:
    """wrk's requests/s, errors and latency percentiles for forgot-password, existing users."""
    script = _WRK_SCRIPT.replace("MAX_INDEX", str(settings.USER_COUNT - 1))
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "forgot.lua"
        path.write_text(script)
        command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "20s",
                   "--latency", "-s", str(path), url]  # fmt: skip
        output = subprocess.run(
            command, capture_output=True, text=True, check=True, timeout=seconds + 60
        ).stdout
    requests = re.search(r"(\d+) requests in ([\d.]+)(\w+)", output)
    assert requests is not None, output
    latency = {
        f"p{match[1]}_ms": float(match[2]) * _UNITS[match[3]]
        for match in re.finditer(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
    }
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return {
        "seconds": float(requests[2]) * _UNITS[requests[3]] / 1000,
        "requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1]),  # type: ignore[index]
        "requests": int(requests[1]),
        "non_2xx": int(errors[1]) if errors else 0,
        "socket_errors": [int(n) for n in sockets.groups()] if sockets else [0, 0, 0, 0],
        **latency,
        "wrk_output": output,
    }


async def forgot_throughput(
    variants: list[Variant], blocks: int, seconds: int, connections: int, progress: Progress
) -> dict[str, Any]:
    """Forgot-password requests/s under wrk (existing addresses), and the mails that followed.

    Answering is half of the job: the swapped router answers before it sends the mail, and
    the stock one goes on with the requests wrk abandons at its end. So the mails actually sent
    (the hook finished) and the jobs shed are counted after each block, once the server has no
    work left, and mails per second run from the start of the load to the last mail.
    """
    runs: dict[str, list[dict[str, Any]]] = {v.name: [] for v in variants}
    for block in range(blocks):
        order = variants if block % 2 == 0 else list(reversed(variants))
        for variant in order:
            async with variant.client() as client:
                await wait_settled(client)
                before = (await client.get("/bench/stats")).json()
                load = asyncio.create_task(
                    asyncio.to_thread(_wrk, variant.url, seconds, connections)
                )
                await asyncio.sleep(seconds * 0.75)
                during = (await client.get("/bench/stats")).json()
                wrk = await load
                drain = await wait_settled(client, limit_seconds=300)
                after = (await client.get("/bench/stats")).json()
            events = {
                name: after["events"].get(name, 0) - before["events"].get(name, 0)
                for name in after["events"]
            }
            runs[variant.name].append({
                **wrk,
                "hook_calls": after["hook_calls"] - before["hook_calls"],
                "mails_sent": after["mails_sent"] - before["mails_sent"],
                "jobs_shed": after["shed"] - before["shed"],
                "pending_during_load": during["pending"],
                "db_connections_during_load": during["db_connections_checked_out"],
                "events": events,
                "seconds_to_settle_after_load": drain,
                # From the start of the load to the last mail: what the mail pipeline kept up.
                "mails_per_second": (after["mails_sent"] - before["mails_sent"])
                / (wrk["seconds"] + drain),
            })  # fmt: skip
            progress(
                f"forgot-password throughput: {variant.name}, block {block + 1}: "
                f"{wrk['requests_per_second']:.1f} answers/s, "
                f"{runs[variant.name][-1]['mails_per_second']:.1f} mails/s"
            )
    return {
        "connections": connections,
        "seconds_per_block": seconds,
        **{name: {"blocks": blocks_} for name, blocks_ in runs.items()},
    }
