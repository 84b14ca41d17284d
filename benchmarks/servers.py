"""Real uvicorn servers on loopback, each in its own process and virtual environment."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.servers import free_port, wait_until

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")


class AppServer:
    """``python -m uvicorn MODULE:app`` with the given interpreter, workers and settings.

    The server's output goes to a temporary file rather than the terminal: a flood makes the
    library log every shed job, which would bury the progress bar. `log` reads it back.
    """

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
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def __enter__(self) -> AppServer:
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )
        wait_until(self._ready, 60, f"{self.command[3]} on port {self.port}")
        return self

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(
                f"{self.command[3]} exited with {self.process.returncode}:\n{self.log()[-3000:]}"
            )
        try:
            return httpx.get(self.url + "/openapi.json", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def log(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def stop(self, limit_seconds: float, signal_number: int = signal.SIGTERM) -> Exit:
        """Send the signal and time the exit; past the limit, SIGKILL."""
        if self.process is None or self.process.poll() is not None:
            return Exit(0.0, self.process.returncode if self.process else 0)
        started = time.perf_counter()
        self.process.send_signal(signal_number)
        try:
            self.process.wait(limit_seconds)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return Exit(None, self.process.wait())
        return Exit(time.perf_counter() - started, self.process.returncode)

    def __exit__(self, *_: object) -> None:
        self.stop(30)
        self._log.close()


@dataclass(frozen=True)
class Exit:
    """How a server process ended: ``seconds`` after the signal, None if it had to be
    killed; ``returncode`` negative for the signal that ended it (-15: SIGTERM)."""

    seconds: float | None
    returncode: int
