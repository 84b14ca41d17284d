"""The route class of every router here: no secret in any answer or log, whatever fails."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from fastapi_password_reset._redaction import collecting_secrets, redacted_traceback

logger = logging.getLogger("fastapi_password_reset")

# The largest body these routes accept, refused with 413 before it is read (by Content-Length,
# or while streaming when there is none). The longest valid body is about 13 KiB: a 1,024
# character password of characters outside the BMP, each written as a 12-byte JSON escape.
MAX_BODY_BYTES = 16 * 1024

_KEPT_FIELDS = ("type", "loc", "msg", "ctx")
_UNPARSABLE_BODY = [{"type": "json_invalid", "loc": ["body"], "msg": "Body could not be parsed"}]
# What FastAPI raises when it cannot decode a body at all (bytes that are not UTF-8, nesting
# too deep for the parser). Matched by status and text: an application's own HTTPException,
# from its password policy say, must come back exactly as it was raised.
_FASTAPI_PARSE_ERROR = (400, "There was an error parsing the body")


def redact_errors(errors: Any) -> list[dict[str, Any]]:
    """Validation errors without the submitted ``input``, which may be a token or a password."""
    return [{field: error[field] for field in _KEPT_FIELDS if field in error} for error in errors]


class RedactedRoute(APIRoute):
    """A route that never answers or logs a token, a password or a password hash.

    - 422 bodies list what was wrong but not the values sent: FastAPI's default quotes each
      offending value, which for these bodies is a token or a password.
    - A body that cannot be decoded at all is a 422 of the same shape, not a bare 400.
    - An unexpected exception is logged with every secret the request has seen replaced, and
      answered with a plain 500; it never reaches the server's error log, where a database
      driver's message would print the statement's parameters.

    It is set per router, so the application's own routes and error handlers are untouched.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded_handler(request: Request) -> Response:
            with collecting_secrets():
                try:
                    return await handler(request)
                except RequestValidationError as exc:
                    content = {"detail": redact_errors(exc.errors())}
                    return JSONResponse(status_code=422, content=jsonable_encoder(content))
                except HTTPException as exc:
                    if (exc.status_code, exc.detail) != _FASTAPI_PARSE_ERROR:
                        raise
                    return JSONResponse(status_code=422, content={"detail": _UNPARSABLE_BODY})
                except Exception as exc:
                    logger.error(
                        "%s %s failed:\n%s",
                        request.method,
                        request.url.path,
                        redacted_traceback(exc),
                    )
                    return PlainTextResponse("Internal Server Error", status_code=500)

        return guarded_handler
