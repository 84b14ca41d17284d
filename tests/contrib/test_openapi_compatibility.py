"""The swapped routes publish the OpenAPI of fastapi-users 15's: a client generated from the
stock schema (operation ids, bodies, answers) keeps working, and route names still resolve."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.contrib.example_app import ExampleApp, IdKind, build_example_app

pytestmark = pytest.mark.anyio

ROUTES = ["/auth/forgot-password", "/auth/reset-password"]


@pytest.fixture
async def apps(id_kind: IdKind, tmp_path: Path) -> AsyncIterator[dict[str, ExampleApp]]:
    """The stock and the swapped application; their schemas need no database."""
    built = {
        kind: build_example_app(
            f"sqlite+aiosqlite:///{tmp_path}/{kind}.db", id_kind=id_kind, reset_router=kind
        )
        for kind in ("stock", "swapped")
    }
    yield built
    for example in built.values():
        await example.dispose()


def operation(example: ExampleApp, path: str) -> dict[str, Any]:
    found: dict[str, Any] = example.app.openapi()["paths"][path]["post"]
    return found


def resolve(example: ExampleApp, schema: dict[str, Any]) -> dict[str, Any]:
    """``schema``, or what its ``$ref`` points to in the application's components."""
    reference = schema.get("$ref")
    if reference is None:
        return schema
    name = reference.removeprefix("#/components/schemas/")
    resolved: dict[str, Any] = example.app.openapi()["components"]["schemas"][name]
    return resolved


def request_body(example: ExampleApp, path: str) -> dict[str, Any]:
    """The JSON body a client is told to send: its fields' types and formats, and which are
    required (titles and schema names are FastAPI's spelling, not part of the contract)."""
    body = operation(example, path)["requestBody"]
    schema = resolve(example, body["content"]["application/json"]["schema"])
    fields = {
        name: {key: value for key, value in field.items() if key in ("type", "format")}
        for name, field in schema["properties"].items()
    }
    return {"required": body["required"], "fields": fields, "required_fields": schema["required"]}


@pytest.mark.parametrize("path", ROUTES)
async def test_request_bodies_are_stocks(apps: dict[str, ExampleApp], path: str) -> None:
    """Same fields, types, formats and required fields."""
    assert request_body(apps["swapped"], path) == request_body(apps["stock"], path)


@pytest.mark.parametrize("path", ROUTES)
async def test_operation_ids_summaries_and_tags_are_stocks(
    apps: dict[str, ExampleApp], path: str
) -> None:
    """Generated clients name their methods after operationId: it must not change."""
    keys = ("operationId", "summary", "tags")
    stock, swapped = (operation(apps[kind], path) for kind in ("stock", "swapped"))
    assert {key: swapped.get(key) for key in keys} == {key: stock.get(key) for key in keys}


@pytest.mark.parametrize("path", ROUTES)
async def test_every_stock_status_is_published(apps: dict[str, ExampleApp], path: str) -> None:
    """Each status stock documents is documented by ours too (ours adds 500 and 503)."""
    stock = operation(apps["stock"], path)["responses"]
    swapped = operation(apps["swapped"], path)["responses"]
    assert set(stock) <= set(swapped)


@pytest.mark.parametrize("path", ROUTES)
async def test_stock_answer_schemas_are_kept(apps: dict[str, ExampleApp], path: str) -> None:
    """Each of those answers has stock's schema (a generated client types its errors by it)."""
    stock = operation(apps["stock"], path)["responses"]
    swapped = operation(apps["swapped"], path)["responses"]
    for status, answer in stock.items():
        stock_schema = answer["content"]["application/json"].get("schema")
        swapped_schema = swapped[status]["content"]["application/json"].get("schema")
        assert swapped_schema == stock_schema, status


async def test_error_examples_name_stocks_codes(apps: dict[str, ExampleApp]) -> None:
    """The 400 examples are keyed by the same error codes, with the same ``detail`` shapes."""

    def examples(kind: str) -> dict[str, Any]:
        answer = operation(apps[kind], "/auth/reset-password")["responses"]["400"]
        found: dict[str, Any] = answer["content"]["application/json"]["examples"]
        return found

    stock, swapped = examples("stock"), examples("swapped")
    assert set(swapped) == set(stock)
    bad_token = "RESET_PASSWORD_BAD_TOKEN"
    assert swapped[bad_token]["value"] == stock[bad_token]["value"]
    invalid = "RESET_PASSWORD_INVALID_PASSWORD"
    assert set(swapped[invalid]["value"]["detail"]) == set(stock[invalid]["value"]["detail"])


async def test_ours_publishes_its_length_limits(apps: dict[str, ExampleApp]) -> None:
    """The one documented difference in the bodies: ours declares its limits."""
    published = operation(apps["swapped"], "/auth/reset-password")["requestBody"]
    body = resolve(apps["swapped"], published["content"]["application/json"]["schema"])
    assert body["properties"]["password"].get("maxLength") == 1024
    assert body["properties"]["password"].get("minLength") == 1
    assert body["properties"]["token"].get("maxLength") == 1024


@pytest.mark.parametrize("name", ["reset:forgot_password", "reset:reset_password"])
async def test_route_names_resolve_to_the_same_paths(
    apps: dict[str, ExampleApp], name: str
) -> None:
    """Applications build links with ``request.url_for("reset:reset_password")``."""
    paths = {kind: example.app.url_path_for(name) for kind, example in apps.items()}
    assert paths["swapped"] == paths["stock"]
