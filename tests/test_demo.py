"""`python -m demo` (what `make demo` runs) serves the whole flow over real HTTP."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port, port_open, wait_until

ROOT = Path(__file__).resolve().parent.parent


class DemoServer:
    def __init__(self, port: int, settings: dict[str, str]) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.output: list[str] = []
        self.mode = ""
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DEMO_TOKENS")}
        env.update(settings, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "demo", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        self.reader.join(10)
        assert self.process.stdout is not None
        self.process.stdout.close()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    def mail_token(self, email: str) -> str:
        text = "".join(self.output)
        found = re.findall(rf"OUTBOX: mail to {re.escape(email)} ---.*?\n\n    (\S+)\n", text, re.S)
        return str(found[-1]) if found else ""


@pytest.fixture(scope="module", params=["embedded-redis", "redis-url", "jwt"])
def demo(request: pytest.FixtureRequest) -> Iterator[DemoServer]:
    """The demo as `make demo` starts it, in each of its token modes."""
    settings: dict[str, str] = {}
    if request.param == "redis-url":
        settings["REDIS_URL"] = request.getfixturevalue("redis_server").url
    elif request.param == "jwt":
        settings["DEMO_TOKENS"] = "jwt"
    server = DemoServer(free_port(), settings)
    server.mode = request.param
    try:
        wait_until(lambda: port_open(server.port), 30, "the demo server")
        yield server
    finally:
        server.stop()


def test_the_demo_serves_its_api_docs(demo: DemoServer) -> None:
    """/ leads to /docs; the OpenAPI document lists the reset routes."""
    home = httpx.get(demo.url + "/", follow_redirects=True)
    assert home.status_code == 200
    assert "swagger" in home.text.lower()
    schema = httpx.get(demo.url + "/openapi.json").json()
    assert {"/auth/forgot-password", "/auth/reset-password", "/auth/register"} <= set(
        schema["paths"]
    )
    expected_store = {
        "embedded-redis": "an in-process Redis",
        "redis-url": "Redis at redis://",
        "jwt": "stateless JWT tokens",
    }
    assert expected_store[demo.mode] in schema["info"]["description"]
    assert expected_store[demo.mode] in "".join(demo.output)


def test_a_person_can_reset_a_password_through_the_demo(demo: DemoServer) -> None:
    """Register, ask for a reset, read the console outbox, reset, log in with the new password."""
    email = "person@example.com"
    with httpx.Client(base_url=demo.url, timeout=10) as client:
        registered = client.post("/auth/register", json={"email": email, "password": "first pass"})
        assert registered.status_code == 201
        assert client.post("/auth/forgot-password", json={"email": email}).status_code == 202
        wait_until(lambda: bool(demo.mail_token(email)), 10, "the reset mail")
        token = demo.mail_token(email)
        assert token.count(".") == (2 if demo.mode == "jwt" else 1)
        reset = client.post(
            "/auth/reset-password", json={"token": token, "password": "second pass"}
        )
        assert (reset.status_code, reset.json()) == (200, None)
        old = client.post("/auth/jwt/login", data={"username": email, "password": "first pass"})
        assert old.status_code == 400
        new = client.post("/auth/jwt/login", data={"username": email, "password": "second pass"})
        assert new.status_code == 200
        bearer = {"Authorization": "Bearer " + new.json()["access_token"]}
        assert client.get("/users/me", headers=bearer).json()["email"] == email
