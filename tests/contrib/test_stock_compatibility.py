"""The swapped reset router answers every request as fastapi-users 15's own router does.

Each request of `tests.contrib.compat_cases` goes to two applications built alike on fresh
databases, one with the stock router and one with ours; the answers (status, body, a 422's
error types, locations and messages) and their effects (mails, reset hooks, passwords)
must be the same. The differences are asserted one by one in `test_stock_differences`.
"""

from __future__ import annotations

import pytest
from fastapi_users.router.common import ErrorCode

from tests.contrib.compat_cases import CASE_PASSWORD, CASES, GARBAGE, Token
from tests.contrib.compat_runner import OpenCompared, OpenPair, make_token, run

pytestmark = pytest.mark.anyio

# A Redis token's lifetime is a Redis TTL, which no test clock can move: the expired-token
# case runs with JWTs only.
TABLE = [
    pytest.param(strategy, case, id=f"{strategy}-{case}")
    for strategy in ("jwt", "redis")
    for case in CASES
    if not (strategy == "redis" and Token.EXPIRED in CASES[case].tokens)
]


# The answers do not depend on the database: SQLite runs the table, with both id kinds and
# both strategies (PostgreSQL runs the example app's and the guarantees' tests).
@pytest.mark.parametrize("database_kind", ["sqlite"])
@pytest.mark.parametrize(("strategy_kind", "case"), TABLE)
async def test_the_swapped_router_answers_as_stock_does(open_pair: OpenPair, case: str) -> None:
    """Same status, body and effects as fastapi-users' router, for each request of the table."""
    stock, swapped = await open_pair()
    call = CASES[case]
    expected, _ = await run(stock, call)
    got, _ = await run(swapped, call)
    assert got == expected


# Whether a value is echoed does not depend on the database: SQLite is enough here.
@pytest.mark.parametrize("database_kind", ["sqlite"])
@pytest.mark.parametrize("case", [name for name, call in CASES.items() if call.body is not None])
async def test_the_swapped_router_echoes_no_token_or_password(
    open_compared: OpenCompared, case: str
) -> None:
    """Stock's 422s echo what was sent (``input``); ours echo no token and no password."""
    swapped = await open_compared("swapped")
    call = CASES[case]
    made = {kind: await make_token(swapped, kind) for kind in call.tokens}
    response = await swapped.driver.client.request(
        call.method, call.path, content=call.content(made), headers=call.headers()
    )
    for secret in [*made.values(), CASE_PASSWORD, GARBAGE]:
        assert secret not in response.text


async def test_error_codes_are_fastapi_users_own(open_compared: OpenCompared) -> None:
    """RESET_PASSWORD_BAD_TOKEN and RESET_PASSWORD_INVALID_PASSWORD have stock's exact shape."""
    swapped = await open_compared("swapped")
    bad, _ = await run(swapped, CASES["reset: garbage token"])
    assert (bad.status, bad.body) == (400, {"detail": ErrorCode.RESET_PASSWORD_BAD_TOKEN.value})

    refused, _ = await run(swapped, CASES["reset: valid token, password refused by the policy"])
    assert refused.status == 400
    assert refused.body == {
        "detail": {
            "code": ErrorCode.RESET_PASSWORD_INVALID_PASSWORD.value,
            "reason": "Password should be at least 8 characters",
        }
    }


async def test_a_refused_password_leaves_the_token_usable(open_pair: OpenPair) -> None:
    """After a policy refusal the same token still resets, in both routers."""
    for app in await open_pair():
        token = await make_token(app, Token.VALID)
        assert (await app.driver.reset(token, "short")).status_code == 400
        assert (await app.driver.reset(token, "long enough now")).status_code == 200
