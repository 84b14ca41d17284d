"""Helpers for tests that start real server processes on loopback."""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Callable


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port(*, with_offset: int = 0) -> int:
    """A free loopback port; with ``with_offset``, ``port + offset`` is free too.

    A Redis Cluster node also listens on its port + 10000 (the cluster bus), so its port
    must leave room for that below 65536.
    """
    for _ in range(200):
        port = random.randint(20000, 65535 - with_offset)
        if _bindable(port) and (not with_offset or _bindable(port + with_offset)):
            return port
    raise RuntimeError("no free loopback port found")


def wait_until(ready: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what} was not ready within {timeout} s")


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0
