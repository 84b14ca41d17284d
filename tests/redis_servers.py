"""Real redis-server processes for the tests and benchmarks: single servers and clusters.

They run on free loopback ports, keep nothing on disk beyond a temporary directory, and are
stopped when the test session ends. A missing redis-server binary fails the run: the
Makefile installs it, and a skipped Redis test would hide exactly what it should prove.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.servers import free_port, port_open, wait_until


def redis_binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(
            f"{name} is not installed; `make test` installs it (apt-get install redis-server)"
        )
    return path


class RedisServer:
    """One redis-server process that can be stopped and started again on the same port."""

    def __init__(self, directory: Path, *, cluster: bool = False, persistent: bool = False) -> None:
        self.port = free_port(with_offset=10000 if cluster else 0)
        self.directory = directory
        self.cluster = cluster
        self.persistent = persistent
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        arguments = [
            redis_binary("redis-server"),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "yes" if self.persistent else "no",
            "--appendfsync", "always",
            "--dir", str(self.directory),
        ]  # fmt: skip
        if self.cluster:
            arguments += [
                "--cluster-enabled", "yes",
                "--cluster-config-file", f"nodes-{self.port}.conf",
                "--cluster-node-timeout", "2000",
            ]  # fmt: skip
        self.process = subprocess.Popen(
            arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            wait_until(lambda: port_open(self.port), 10, f"redis-server on port {self.port}")
        except TimeoutError:
            self.stop()
            raise

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None
            wait_until(lambda: not port_open(self.port), 10, "redis-server to stop")

    def kill(self) -> None:
        """Stop at once, as a crash or a lost host would."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def cli(self, *arguments: str) -> str:
        command = [redis_binary("redis-cli"), "-p", str(self.port), *arguments]
        return subprocess.run(
            command, capture_output=True, text=True, check=True, timeout=30
        ).stdout


class RedisCluster:
    """Three master nodes covering all 16,384 slots, no replicas."""

    def __init__(self, directory: Path) -> None:
        self.nodes = [RedisServer(directory, cluster=True) for _ in range(3)]

    @property
    def url(self) -> str:
        return self.nodes[0].url

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        for node in self.nodes:
            node.start()
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        subprocess.run(
            [redis_binary("redis-cli"), "--cluster", "create", *addresses,
             "--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True, check=True, timeout=60,
        )  # fmt: skip
        wait_until(self._ready, 30, "the Redis Cluster")

    def _ready(self) -> bool:
        return all("cluster_state:ok" in node.cli("cluster", "info") for node in self.nodes)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def temporary_directory() -> Path:
    return Path(tempfile.mkdtemp(prefix="fpr-redis-"))
