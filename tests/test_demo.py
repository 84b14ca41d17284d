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
    def __init__(self, port: int, settings: dict[str, str], database: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.output: list[str] = []
        self.mode = ""
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DEMO_TOKENS")}
        env.update(settings, PYTHONUNBUFFERED="1")
        env["DEMO_DATABASE_URL"] = f"sqlite+aiosqlite:///{database}"
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
        """The token of the newest reset mail to ``email`` printed on the console."""
        text = "".join(self.output)
        pattern = rf"OUTBOX: mail to {re.escape(email)} ---\nReset your password.*?#token=([\w.-]+)"
        found = re.findall(pattern, text, re.S)
        return str(found[-1]) if found else ""


@pytest.fixture(scope="module", params=["embedded-redis", "redis-url", "jwt"])
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DemoServer]:
    """The demo as `make demo` starts it, in each of its token modes."""
    settings: dict[str, str] = {}
    if request.param == "redis-url":
        settings["REDIS_URL"] = request.getfixturevalue("redis_server").url
    elif request.param == "jwt":
        settings["DEMO_TOKENS"] = "jwt"
    database = tmp_path_factory.mktemp("demo") / "users.db"
    server = DemoServer(free_port(), settings, database)
    server.mode = request.param
    try:
        wait_until(lambda: port_open(server.port), 30, "the demo server")
        yield server
    finally:
        server.stop()


def test_the_demo_serves_its_api_docs(demo: DemoServer) -> None:
    """/ is the sign-up page, /docs the API documentation listing the reset routes."""
    home = httpx.get(demo.url + "/")
    assert home.status_code == 200
    assert "Create an account" in home.text
    assert "swagger" in httpx.get(demo.url + "/docs").text.lower()
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


def test_users_survive_a_restart(tmp_path: Path) -> None:
    """The demo keeps users in SQLite: an account made before a restart signs in after it."""
    database = tmp_path / "users.db"
    credentials = {"email": "survivor@example.com", "password": "long enough"}
    first = DemoServer(free_port(), {}, database)
    try:
        wait_until(lambda: port_open(first.port), 30, "the demo server")
        assert httpx.post(first.url + "/auth/register", json=credentials).status_code == 201
    finally:
        first.stop()
    second = DemoServer(free_port(), {}, database)
    try:
        wait_until(lambda: port_open(second.port), 30, "the demo server")
        login = httpx.post(
            second.url + "/auth/jwt/login",
            data={"username": credentials["email"], "password": credentials["password"]},
        )
        assert login.status_code == 200
    finally:
        second.stop()


def test_pages_send_strict_security_headers_and_logs_hold_no_token(demo: DemoServer) -> None:
    """Every page: strict CSP, no referrer; the token never reaches the access log."""
    for path in ("/", "/forgot", "/outbox", "/reset", "/signin"):
        response = httpx.get(demo.url + path)
        assert response.status_code == 200
        assert response.headers["referrer-policy"] == "no-referrer"
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert "<script>" not in response.text  # scripts are files, as the policy demands
    email = "headers@example.com"
    httpx.post(demo.url + "/auth/register", json={"email": email, "password": "long enough"})
    httpx.post(demo.url + "/auth/forgot-password", json={"email": email})
    wait_until(lambda: bool(demo.mail_token(email)), 10, "the reset mail")
    token = demo.mail_token(email)
    outbox = httpx.get(demo.url + "/outbox").text
    assert f'href="/reset#token={token}"' in outbox
    access_lines = [line for line in demo.output if '"GET ' in line or '"POST ' in line]
    assert access_lines
    assert not any(token in line for line in access_lines)
