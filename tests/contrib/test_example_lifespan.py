"""The example started as a server starts it, lifespan included (``with TestClient(app)``).

The other tests drive the application through httpx's ASGI transport, which runs no
lifespan: here the example's own start-up creates the tables, and the swapped router's
start-up checks the manager's reset secret.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fastapi_password_reset import InsecureSecretError
from tests.contrib.driving import NEW_PASSWORD, PASSWORD
from tests.contrib.example_app import RouterKind, UUIDUserManager, build_example_app

ALICE = "alice@example.com"


def in_app_loop(client: TestClient, function: Callable[[], Awaitable[object]]) -> None:
    """Run ``function`` in the event loop the started application runs in."""
    assert client.portal is not None, "use the TestClient as a context manager"
    client.portal.call(function)


@pytest.mark.parametrize("reset_router", ["stock", "swapped"])
def test_a_reset_through_a_started_application(tmp_path: Path, reset_router: RouterKind) -> None:
    """Start-up creates the tables; register, forgot, reset and login work; shutdown is clean."""
    example = build_example_app(
        f"sqlite+aiosqlite:///{tmp_path}/users.db", id_kind="uuid", reset_router=reset_router
    )
    with TestClient(example.app) as client:
        registered = client.post("/auth/register", json={"email": ALICE, "password": PASSWORD})
        assert registered.status_code == 201
        assert client.post("/auth/forgot-password", json={"email": ALICE}).status_code == 202
        # The application runs in the client's own event loop: wait for its work there.
        in_app_loop(client, example.settle)
        token = example.hooks.token_for("on_after_forgot_password", ALICE)
        reset = client.post("/auth/reset-password", json={"token": token, "password": NEW_PASSWORD})
        assert reset.status_code == 200
        in_app_loop(client, example.settle)
        login = client.post("/auth/jwt/login", data={"username": ALICE, "password": NEW_PASSWORD})
        assert login.status_code == 200
        assert [call.email for call in example.hooks.named("on_after_reset_password")] == [ALICE]
        # Connections belong to this loop: close them before it ends.
        in_app_loop(client, example.database.engine.dispose)


@pytest.mark.anyio
async def test_the_documented_short_secret_stops_the_swapped_router_at_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fastapi-users' example uses SECRET = "SECRET": stock starts with it, ours refuses to
    (HS256 keys under 32 bytes can be brute-forced), before serving any request."""
    monkeypatch.setattr(UUIDUserManager, "reset_password_token_secret", "SECRET")
    for reset_router in ("stock", "swapped"):
        example = build_example_app(
            f"sqlite+aiosqlite:///{tmp_path}/{reset_router}.db",
            id_kind="uuid",
            reset_router=reset_router,
        )
        # The start-up a server runs, in this test's loop, so that the engine it opened can be
        # closed here whatever happens (TestClient's loop would be gone by then).
        try:
            if reset_router == "stock":
                async with example.app.router.lifespan_context(example.app):
                    pass
            else:
                with pytest.raises(InsecureSecretError):
                    async with example.app.router.lifespan_context(example.app):
                        pass
        finally:
            await example.dispose()
