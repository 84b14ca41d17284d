"""docs/rate-limits.md: its samples, run as the page shows them, hold to what the page says."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import uvicorn

from tests.conftest import SECRET
from tests.doc_programs import ROOT, run_in_order
from tests.redis_servers import RedisServer
from tests.servers import free_port

pytestmark = pytest.mark.anyio

PAGE = ROOT / "docs" / "rate-limits.md"
BAD_TOKEN = {"token": "not-a-token"}
VALIDATE, RESET, FORGOT = "/reset-password/validate", "/reset-password", "/forgot-password"
PROXY = "10.0.0.2"  # the load balancer of the page's uvicorn example


def load_page(monkeypatch: pytest.MonkeyPatch, redis_url: str | None = None) -> dict[str, Any]:
    """The page's samples run top to bottom in one namespace (tests/doc_programs.py)."""
    monkeypatch.setenv("SECRET", SECRET)
    # The page only builds its Redis storage; nothing listens here unless a test says so.
    monkeypatch.setenv("REDIS_URL", redis_url or f"redis://127.0.0.1:{free_port()}/0")
    return run_in_order(PAGE)


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The page's application, with its in-memory limiter."""
    return load_page(monkeypatch)


def served_by_uvicorn(app: Any, forwarded_allow_ips: str) -> Any:
    """The application as `uvicorn --proxy-headers --forwarded-allow-ips=...` serves it."""
    config = uvicorn.Config(
        app, proxy_headers=True, forwarded_allow_ips=forwarded_allow_ips, log_config=None
    )
    config.load()
    return config.loaded_app


async def post(
    app: Any,
    client: str,
    route: str,
    body: dict[str, str],
    forwarded_for: str | None = None,
) -> httpx.Response:
    """One request to ``/auth{route}`` from the address ``client``."""
    transport = httpx.ASGITransport(app=app, client=(client, 41234))
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for is not None else {}
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        return await http.post(f"/auth{route}", json=body, headers=headers)


async def add_user(page: dict[str, Any], email: str) -> None:
    """An active account; its hash is never verified by these routes' limits."""
    await page["user_db"].create(page["UserDB"](email=email, hashed_password="unused-hash"))


async def mailed(page: dict[str, Any]) -> list[str]:
    """The addresses mailed so far (in no set order), once the work after the answers is done."""
    await page["fastapi_users"].background.drain()
    return [email for email, _ in page["outbox"]]


async def close_shared_storage(page: dict[str, Any]) -> None:
    """Closes the connections of the page's Redis storage (limits has no close of its own)."""
    await page["shared_storage"].bridge.storage.aclose()


async def test_reset_and_validate_answer_429_past_ten_a_minute_per_client(
    page: dict[str, Any],
) -> None:
    """Ten token checks a minute per client, reset and validate together; then 429."""
    app = page["app"]
    for n in range(10):
        route = VALIDATE if n % 2 else RESET
        body = BAD_TOKEN if route == VALIDATE else {**BAD_TOKEN, "password": "whatever-1234"}
        response = await post(app, "192.0.2.1", route, body)
        assert response.status_code == 400
        assert response.json() == {"detail": "RESET_PASSWORD_BAD_TOKEN"}
    for route, body in [(VALIDATE, BAD_TOKEN), (RESET, {**BAD_TOKEN, "password": "x" * 12})]:
        refused = await post(app, "192.0.2.1", route, body)
        assert (refused.status_code, refused.json()) == (429, {"detail": "TOO_MANY_REQUESTS"})
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
    other = await post(app, "192.0.2.2", VALIDATE, BAD_TOKEN)
    assert other.status_code == 400


async def test_a_client_past_its_limit_is_refused_before_its_body_is_read(
    page: dict[str, Any],
) -> None:
    """The dependency runs first: past the limit, a malformed body is 429 (forgot: 202)."""
    app = page["app"]
    assert (await post(app, "192.0.2.1", VALIDATE, {})).status_code == 422
    for _ in range(9):
        await post(app, "192.0.2.1", VALIDATE, BAD_TOKEN)
    assert (await post(app, "192.0.2.1", VALIDATE, {})).status_code == 429
    for n in range(5):
        await post(app, "192.0.2.1", FORGOT, {"email": f"nobody{n}@example.com"})
    silent = await post(app, "192.0.2.1", FORGOT, {"not": "an address"})
    assert (silent.status_code, silent.content) == (202, b"null")


async def test_a_real_link_works_within_the_limit_and_not_past_it(page: dict[str, Any]) -> None:
    """Validate then reset with a mailed token passes; past the limit even it gets 429."""
    app = page["app"]
    await add_user(page, "alice@example.com")
    assert (await post(app, "192.0.2.1", FORGOT, {"email": "alice@example.com"})).status_code == 202
    assert await mailed(page) == ["alice@example.com"]
    [(_, token)] = page["outbox"]
    for _ in range(9):
        await post(app, "192.0.2.9", VALIDATE, BAD_TOKEN)
    assert (await post(app, "192.0.2.9", VALIDATE, {"token": token})).status_code == 200
    assert (await post(app, "192.0.2.9", VALIDATE, {"token": token})).status_code == 429
    reset = await post(app, "192.0.2.1", RESET, {"token": token, "password": "a new passphrase"})
    assert (reset.status_code, reset.content) == (200, b"null")


async def test_forgot_password_past_the_limit_answers_alike_and_does_nothing(
    page: dict[str, Any],
) -> None:
    """Five a minute per client; the sixth is the same 202 and sends no mail."""
    app = page["app"]
    for n in range(7):
        await add_user(page, f"user{n}@example.com")
    answers = [
        await post(app, "192.0.2.1", FORGOT, {"email": f"user{n}@example.com"}) for n in range(6)
    ]
    assert sorted(await mailed(page)) == [f"user{n}@example.com" for n in range(5)]
    assert {(a.status_code, a.content, tuple(a.headers.multi_items())) for a in answers} == {
        (202, b"null", (("content-length", "4"), ("content-type", "application/json")))
    }
    assert (await post(app, "192.0.2.2", FORGOT, {"email": "user6@example.com"})).status_code == 202
    assert sorted(await mailed(page)) == [f"user{n}@example.com" for n in (0, 1, 2, 3, 4, 6)]


async def test_asking_for_someones_address_does_not_lock_them_out(page: dict[str, Any]) -> None:
    """No budget is keyed by address: a flood for one address leaves its owner served."""
    app = page["app"]
    await add_user(page, "victim@example.com")
    for n in range(5):  # the attacker spends its budget on addresses without an account
        await post(app, "198.51.100.7", FORGOT, {"email": f"nobody{n}@example.com"})
    for _ in range(20):
        answer = await post(app, "198.51.100.7", FORGOT, {"email": "victim@example.com"})
        assert answer.status_code == 202
    assert await mailed(page) == []  # dropped before the route: not even the first mail
    owner = await post(app, "203.0.113.5", FORGOT, {"email": "victim@example.com"})
    assert owner.status_code == 202
    assert await mailed(page) == ["victim@example.com"]


@pytest.mark.parametrize("setup", ["bare application", "served by uvicorn"])
async def test_a_spoofed_forwarded_for_does_not_reset_the_count(
    page: dict[str, Any], setup: str
) -> None:
    """A client that is not the trusted proxy rotates X-Forwarded-For in vain."""
    app = page["app"] if setup == "bare application" else served_by_uvicorn(page["app"], PROXY)
    for n in range(10):
        answer = await post(app, "192.0.2.1", VALIDATE, BAD_TOKEN, forwarded_for=f"203.0.113.{n}")
        assert answer.status_code == 400
    spoofed = await post(app, "192.0.2.1", VALIDATE, BAD_TOKEN, forwarded_for="203.0.113.99")
    assert spoofed.status_code == 429
    assert (await post(app, "192.0.2.2", VALIDATE, BAD_TOKEN)).status_code == 400


async def test_a_trusted_proxy_gives_each_client_behind_it_its_own_budget(
    page: dict[str, Any],
) -> None:
    """From the trusted proxy, the client is the rightmost untrusted X-Forwarded-For entry."""
    app = served_by_uvicorn(page["app"], PROXY)
    for _ in range(10):
        answer = await post(app, PROXY, VALIDATE, BAD_TOKEN, forwarded_for="203.0.113.7")
        assert answer.status_code == 400
    assert (await post(app, PROXY, VALIDATE, BAD_TOKEN, "203.0.113.7")).status_code == 429
    # What the client wrote itself stands left of what the proxy appended: ignored.
    prepended = await post(app, PROXY, VALIDATE, BAD_TOKEN, "198.51.100.1, 203.0.113.7")
    assert prepended.status_code == 429
    assert (await post(app, PROXY, VALIDATE, BAD_TOKEN, "203.0.113.8")).status_code == 400


async def test_a_proxy_that_is_not_trusted_puts_every_client_in_one_budget(
    page: dict[str, Any],
) -> None:
    """uvicorn's defaults trust loopback only: clients behind 10.0.0.2 share its address."""
    app = served_by_uvicorn(page["app"], "127.0.0.1,::1")
    for n in range(10):
        await post(app, PROXY, VALIDATE, BAD_TOKEN, forwarded_for=f"203.0.113.{n}")
    assert (await post(app, PROXY, VALIDATE, BAD_TOKEN, "203.0.113.99")).status_code == 429


async def test_trusting_every_address_lets_a_client_dodge_the_limit(
    page: dict[str, Any],
) -> None:
    """What the page warns of: with --forwarded-allow-ips='*' a client picks its address."""
    app = served_by_uvicorn(page["app"], "*")
    for n in range(15):
        answer = await post(app, "192.0.2.1", VALIDATE, BAD_TOKEN, forwarded_for=f"203.0.113.{n}")
        assert answer.status_code == 400


async def test_an_ipv6_client_is_counted_by_its_64_network(page: dict[str, Any]) -> None:
    """Addresses in one /64 share a budget; the next /64 has its own."""
    app = page["app"]
    for n in range(10):
        assert (await post(app, f"2001:db8::{n + 1:x}", VALIDATE, BAD_TOKEN)).status_code == 400
    assert (await post(app, "2001:db8::ffff:1", VALIDATE, BAD_TOKEN)).status_code == 429
    assert (await post(app, "2001:db8:0:1::1", VALIDATE, BAD_TOKEN)).status_code == 400


async def test_an_ipv4_address_written_as_ipv6_is_the_ipv4_client(page: dict[str, Any]) -> None:
    """::ffff:192.0.2.1 and 192.0.2.1 draw on one budget."""
    app = page["app"]
    for _ in range(10):
        assert (await post(app, "::ffff:192.0.2.1", VALIDATE, BAD_TOKEN)).status_code == 400
    assert (await post(app, "192.0.2.1", VALIDATE, BAD_TOKEN)).status_code == 429


async def test_a_limiter_store_that_is_down_lets_requests_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The page's Redis storage with nothing listening: requests pass, no 429 and no 500."""
    page = load_page(monkeypatch)
    page["limiter"] = page["MovingWindowRateLimiter"](page["shared_storage"])
    try:
        for _ in range(12):
            assert (await post(page["app"], "192.0.2.1", VALIDATE, BAD_TOKEN)).status_code == 400
        await add_user(page, "alice@example.com")
        await post(page["app"], "192.0.2.1", FORGOT, {"email": "alice@example.com"})
        assert await mailed(page) == ["alice@example.com"]
    finally:
        await close_shared_storage(page)


@pytest.mark.redis_server
async def test_the_redis_storage_counts_per_client_on_a_real_server(
    monkeypatch: pytest.MonkeyPatch, redis_server: RedisServer
) -> None:
    """The page's production storage, on a real redis-server: the same limits, per client."""
    page = load_page(monkeypatch, redis_server.url)
    await page["shared_storage"].reset()
    page["limiter"] = page["MovingWindowRateLimiter"](page["shared_storage"])
    try:
        for _ in range(10):
            assert (await post(page["app"], "192.0.2.1", VALIDATE, BAD_TOKEN)).status_code == 400
        assert (await post(page["app"], "192.0.2.1", VALIDATE, BAD_TOKEN)).status_code == 429
        assert (await post(page["app"], "192.0.2.2", VALIDATE, BAD_TOKEN)).status_code == 400
        keys = await page["shared_storage"].bridge.storage.keys("LIMITS:*")
        assert len(keys) == 2 and all(b"/token/" in key for key in keys)
    finally:
        await page["shared_storage"].reset()
        await close_shared_storage(page)
