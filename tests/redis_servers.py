"""Real redis-server processes for the tests and benchmarks: single servers and clusters.

They run on free loopback ports, keep nothing on disk beyond a temporary directory, and are
stopped when the test session ends. A missing redis-server binary fails the run: the
Makefile installs it, and a skipped Redis test would hide exactly what it should prove.

A server can also refuse writes the ways a production primary does (demoted to a replica,
too few replicas, out of memory), and a replica can be paused so that its primary's WAIT
times out: faults a stopped server cannot show, for Redis still answers, with an error.
"""

from __future__ import annotations

import os
import shutil
import signal
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
    """One redis-server process that can be stopped and started again on the same port.

    With ``replica_of``, it starts as a replica of the server on that loopback port.
    """

    def __init__(
        self,
        directory: Path,
        *,
        cluster: bool = False,
        persistent: bool = False,
        replica_of: int | None = None,
    ) -> None:
        self.port = free_port(with_offset=10000 if cluster else 0)
        self.directory = directory
        self.cluster = cluster
        self.persistent = persistent
        self.replica_of = replica_of
        self.process: subprocess.Popen[bytes] | None = None
        self.paused = False

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
            # A replica's first sync starts at once instead of 5 s later (Redis 7.0's default).
            "--repl-diskless-sync-delay", "0",
        ]  # fmt: skip
        if self.replica_of is not None:
            arguments += ["--replicaof", "127.0.0.1", str(self.replica_of)]
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
            self.resume()  # A paused process would hold SIGTERM until resumed.
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
            self.paused = False

    def cli(self, *arguments: str) -> str:
        command = [redis_binary("redis-cli"), "-p", str(self.port), *arguments]
        return subprocess.run(
            command, capture_output=True, text=True, check=True, timeout=30
        ).stdout

    def _ok(self, *arguments: str) -> None:
        # redis-cli exits with 0 on an error reply too: only the reply tells.
        reply = self.cli(*arguments).strip()
        if reply != "OK":
            raise RuntimeError(f"redis-server refused {' '.join(arguments)}: {reply}")

    # Writes refused the ways a production primary refuses them. Each has its undo, which a
    # test calls in `finally`; none survives a restart.

    def demote(self, primary_port: int) -> None:
        """Make this server a replica, as a failover does: writes fail with READONLY.

        Once synced, it holds the data of the server on ``primary_port``, not its own.
        """
        self._ok("REPLICAOF", "127.0.0.1", str(primary_port))

    def promote(self) -> None:
        """Make this server a primary again, keeping the data it has."""
        self._ok("REPLICAOF", "NO", "ONE")

    def require_replicas(self, count: int = 1) -> None:
        """Refuse writes with NOREPLICAS unless ``count`` replicas are connected (0: undo)."""
        self._ok("CONFIG", "SET", "min-replicas-to-write", str(count))

    def exhaust_memory(self) -> None:
        """Refuse writes that may grow memory with OOM, as a full server with no eviction does.

        A limit of one byte is always exceeded, so no data need be written to reach it.
        Commands that cannot grow memory (DEL, RENAME, ZREM...) still run, and so does a
        script without flags whose first write is one of them: Redis checks a script at its
        first write only, as it cannot stop one midway.
        """
        self._ok("CONFIG", "SET", "maxmemory-policy", "noeviction")
        self._ok("CONFIG", "SET", "maxmemory", "1")

    def restore_memory(self) -> None:
        """Lift the memory limit again (this class starts servers without one)."""
        self._ok("CONFIG", "SET", "maxmemory", "0")

    # A replica that stops acknowledging, as a stalled or partitioned one does.

    def pause(self) -> None:
        """Freeze the process (SIGSTOP): it holds its connections but answers nothing."""
        assert self.process is not None
        if not self.paused:
            self.process.send_signal(signal.SIGSTOP)
            # Return once it has stopped, so nothing the caller does next reaches it first.
            os.waitpid(self.process.pid, os.WUNTRACED)
            self.paused = True

    def resume(self) -> None:
        """Let a paused process run again (SIGCONT)."""
        if self.process is not None and self.paused:
            self.process.send_signal(signal.SIGCONT)
            self.paused = False

    def wait_for_replicas(self, count: int, timeout: float = 10) -> None:
        """Return once ``count`` replicas have synced with this primary."""
        wait_until(
            lambda: self.cli("INFO", "replication").count("state=online") >= count,
            timeout,
            f"{count} replica(s) of redis-server on port {self.port}",
        )


class RedisCluster:
    """Three master nodes covering all 16,384 slots, each with ``replicas`` replicas."""

    def __init__(self, directory: Path, *, replicas: int = 0) -> None:
        self.replicas = replicas
        self.nodes = [RedisServer(directory, cluster=True) for _ in range(3 * (1 + replicas))]

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
             "--cluster-replicas", str(self.replicas), "--cluster-yes"],
            capture_output=True, check=True, timeout=60,
        )  # fmt: skip
        wait_until(self._ready, 30, "the Redis Cluster")

    def _ready(self) -> bool:
        known = f"cluster_known_nodes:{len(self.nodes)}\n"
        for node in self.nodes:
            info = node.cli("cluster", "info")
            if "cluster_state:ok" not in info or known not in info:
                return False
        online = sum(node.cli("INFO", "replication").count("state=online") for node in self.nodes)
        return online >= 3 * self.replicas

    def replica_of(self, port: int) -> RedisServer:
        """The (first) replica of the master listening on ``port``."""
        for node in self.nodes:
            role = node.cli("ROLE").split()
            if role[0] == "slave" and role[2] == str(port):
                return node
        raise LookupError(f"no replica of port {port}")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def temporary_directory() -> Path:
    return Path(tempfile.mkdtemp(prefix="fpr-redis-"))
