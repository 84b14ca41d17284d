"""422 answers that never echo what the client sent."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

_KEPT_FIELDS = ("type", "loc", "msg", "ctx")
_UNPARSABLE_BODY = [{"type": "json_invalid", "loc": ["body"], "msg": "Body could not be parsed"}]


def redact_errors(errors: Any) -> list[dict[str, Any]]:
    """Validation errors without the submitted ``input``, which may be a token or a password."""
    return [{field: error[field] for field in _KEPT_FIELDS if field in error} for error in errors]


class RedactedValidationRoute(APIRoute):
    """A route whose 422 body lists what was wrong but not the values that were sent.

    FastAPI's default 422 quotes each offending value; for a reset or log-in body that is a
    token or a password, written back into responses and whatever logs them. This is set per
    router, so the application's own routes and error handlers are left as they are.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def redacting_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                content = {"detail": redact_errors(exc.errors())}
                return JSONResponse(status_code=422, content=jsonable_encoder(content))
            except HTTPException as exc:
                # FastAPI answers a body it cannot decode at all (bytes that are not UTF-8,
                # nesting too deep for the parser) with a bare 400 raised from the parser's
                # error. Our own 400s carry no cause; make the parser's a 422 like any other
                # malformed body, so clients see one stable shape.
                if exc.__cause__ is None or isinstance(exc.__cause__, HTTPException):
                    raise
                return JSONResponse(status_code=422, content={"detail": _UNPARSABLE_BODY})

        return redacting_handler
