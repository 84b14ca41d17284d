"""Requests per second under load, measured with wrk (a C load generator) on loopback."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

from benchmarks import settings

_WRK_SCRIPT = """
math.randomseed(os.time())
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local body = string.format('{"email": "user%d@bench.example.com"}', math.random(0, MAX_INDEX))
  return wrk.format(nil, "/auth/forgot-password", nil, body)
end
"""


def forgot_password_rps(url: str, seconds: int, connections: int) -> dict[str, float]:
    script = _WRK_SCRIPT.replace("MAX_INDEX", str(settings.USER_COUNT - 1))
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "forgot.lua"
        path.write_text(script)
        output = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(path), url],
            capture_output=True, text=True, check=True, timeout=seconds + 60,
        ).stdout  # fmt: skip
    requests_per_second = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])  # type: ignore[index]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "requests_per_second": requests_per_second,
        "non_2xx": float(errors[1]) if errors else 0.0,
    }
