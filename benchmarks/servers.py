"""Real uvicorn servers on loopback, each in its own process and virtual environment."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx

from tests.servers import free_port, wait_until

ROOT = Path(__file__).resolve().parent.parent


class AppServer:
    """``python -m uvicorn MODULE:app`` with the given interpreter, workers and settings."""

    def __init__(self, python: str, module: str, env: dict[str, str], workers: int = 1) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [
            python, "-m", "uvicorn", f"{module}:app",
            "--host", "127.0.0.1", "--port", str(self.port),
            "--workers", str(workers), "--log-level", "warning", "--no-access-log",
        ]  # fmt: skip
        self.env = dict(os.environ, PYTHONPATH=str(ROOT), **env)
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> AppServer:
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env)
        wait_until(self._ready, 60, f"{self.command[3]} on port {self.port}")
        return self

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"{self.command[3]} exited with {self.process.returncode}")
        try:
            return httpx.get(self.url + "/openapi.json", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def __exit__(self, *_: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(30)
