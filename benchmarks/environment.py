"""The machine, versions and parameters a benchmark ran with."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from typing import Any

from benchmarks import settings


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    return round(pages * page_size / 2**30, 1)


def _versions(python: str, packages: list[str]) -> dict[str, str]:
    program = (
        "import json, sys; from importlib import metadata; "
        "print(json.dumps({p: metadata.version(p) for p in sys.argv[1:]}))"
    )
    output = subprocess.run(
        [python, "-c", program, *packages], capture_output=True, text=True, check=True
    ).stdout
    versions: dict[str, str] = json.loads(output)
    return versions


def describe(fastapi_users_python: str) -> dict[str, Any]:
    redis_server = subprocess.run(
        ["redis-server", "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    ours = ["fastapi-password-reset", "fastapi", "starlette", "uvicorn", "pydantic",
            "argon2-cffi", "pyjwt", "redis", "httpx"]  # fmt: skip
    theirs = ["fastapi-users", "fastapi", "starlette", "uvicorn", "pydantic",
              "argon2-cffi", "pwdlib", "pyjwt"]  # fmt: skip
    return {
        "machine": {
            "cpu": _cpu_model(),
            "cores": os.cpu_count(),
            "memory_gib": _memory_gib(),
            "platform": platform.platform(),
            "python": sys.version.split()[0],
        },
        "this_library_environment": {p: metadata.version(p) for p in ours},
        "fastapi_users_environment": _versions(fastapi_users_python, theirs),
        "redis_server": redis_server,
        "parameters": {
            "argon2id": settings.ARGON2,
            "hook_delay_seconds": settings.HOOK_DELAY_SECONDS,
            "users": settings.USER_COUNT,
            "http_client": f"httpx {metadata.version('httpx')}, HTTP/1.1 keep-alive",
            "load_generator": "wrk 4.1, 2 threads, 64 connections",
        },
    }
