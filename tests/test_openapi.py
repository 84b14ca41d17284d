"""The OpenAPI document names the routes, their error codes and the bearer scheme."""

from __future__ import annotations

import pytest

from tests.conftest import Harness

pytestmark = pytest.mark.anyio


async def test_routes_are_named_and_document_their_errors(harness: Harness) -> None:
    """Route names as in fastapi-users; 400/503 examples keyed by error code."""
    assert harness.app.url_path_for("reset:forgot_password") == "/auth/forgot-password"
    assert harness.app.url_path_for("reset:reset_password") == "/auth/reset-password"
    assert harness.app.url_path_for("register:register") == "/auth/register"
    assert harness.app.url_path_for("auth:jwt.login") == "/auth/jwt/login"
    schema = (await harness.client.get("/openapi.json")).json()
    reset = schema["paths"]["/auth/reset-password"]["post"]["responses"]
    examples = reset["400"]["content"]["application/json"]["examples"]
    assert set(examples) == {"RESET_PASSWORD_BAD_TOKEN", "RESET_PASSWORD_INVALID_PASSWORD"}
    assert "RESET_PASSWORD_TOKEN_STORE_UNAVAILABLE" in str(reset["503"])
    assert "202" in schema["paths"]["/auth/forgot-password"]["post"]["responses"]
    me = schema["paths"]["/me"]["get"]
    assert me["security"] == [{"OAuth2PasswordBearer": []}]
    flows = schema["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]
    assert flows["password"]["tokenUrl"] == "auth/jwt/login"


async def test_request_bodies_keep_their_length_limits_in_the_schema(harness: Harness) -> None:
    """maxLength of token, password and email are published."""
    schema = (await harness.client.get("/openapi.json")).json()
    components = schema["components"]["schemas"]
    reset = components["ResetPasswordBody"]["properties"]
    assert reset["token"]["maxLength"] == 1024
    assert reset["password"]["maxLength"] == 1024
    assert components["ForgotPasswordBody"]["properties"]["email"]["maxLength"] == 320


async def test_the_validate_route_is_documented_with_examples(harness: Harness) -> None:
    """reset:validate_token publishes its body example, its 200 null and its 400 code."""
    assert harness.app.url_path_for("reset:validate_token") == "/auth/reset-password/validate"
    schema = (await harness.client.get("/openapi.json")).json()
    validate = schema["paths"]["/auth/reset-password/validate"]["post"]
    assert "RESET_PASSWORD_BAD_TOKEN" in str(validate["responses"]["400"])
    assert "RESET_PASSWORD_TOKEN_STORE_UNAVAILABLE" in str(validate["responses"]["503"])
    body = schema["components"]["schemas"]["ValidateTokenBody"]
    assert body["examples"] and set(body["properties"]) == {"token"}


async def test_a_code_strategy_asks_for_the_email_in_its_bodies() -> None:
    """With codes, the reset and validate bodies require email, token (and password)."""
    import fakeredis

    from fastapi_password_reset.tokens import RedisResetCodeStrategy
    from tests.conftest import open_harness

    strategy = RedisResetCodeStrategy(fakeredis.FakeAsyncRedis())
    async with open_harness(strategy) as harness:
        schema = (await harness.client.get("/openapi.json")).json()
    components = schema["components"]["schemas"]
    assert set(components["ResetPasswordWithCodeBody"]["required"]) == {
        "email",
        "token",
        "password",
    }
    assert set(components["ValidateCodeBody"]["required"]) == {"email", "token"}
