"""The public test helpers, with FastAPI's TestClient and with httpx, as docs/testing.md shows
(its test files run with pytest as the page says: tests/test_doc_programs.py)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from fastapi_password_reset.testing import settle_test_client
from tests.conftest import SECRET
from tests.doc_programs import ROOT, programs

PAGE = ROOT / "docs" / "testing.md"


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The page's application module, app.py."""
    monkeypatch.setenv("SECRET", SECRET)
    namespace: dict[str, Any] = {"__name__": "docs_testing_app"}
    exec(compile(programs(PAGE)["app.py"], str(PAGE), "exec"), namespace)  # noqa: S102 - our docs
    return namespace


@pytest.mark.parametrize("attempt", range(20))
def test_a_mail_is_caught_every_time_with_the_test_client(
    page: dict[str, Any], attempt: int
) -> None:
    """Forgot, settle, a mail: twenty times out of twenty."""
    outbox = page["Outbox"]()
    app, users = page["make_app"](outbox)
    with TestClient(app) as client:
        client.post("/auth/register", json={"email": "bors@camelot.bt", "password": "grail"})
        client.post("/auth/forgot-password", json={"email": "bors@camelot.bt"})
        settle_test_client(client, users)
        assert outbox.token_for("bors@camelot.bt")


def test_settling_a_test_client_outside_with_says_what_to_do(page: dict[str, Any]) -> None:
    """Without the context manager, the helper refuses with the reason."""
    app, users = page["make_app"](page["Outbox"]())
    client = TestClient(app)
    with pytest.raises(RuntimeError, match="as a context manager"):
        settle_test_client(client, users)


def test_token_for_says_why_there_may_be_no_mail(page: dict[str, Any]) -> None:
    """An empty outbox names the likely causes."""
    with pytest.raises(AssertionError, match="settled"):
        page["Outbox"]().token_for("nobody@camelot.bt")
