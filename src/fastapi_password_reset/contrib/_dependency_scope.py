"""Running a job with a FastAPI dependency made for it alone, after the request has ended."""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Scope

_JOB_KEY = "fastapi_password_reset.job"


class DependencyUnavailableError(Exception):
    """The dependency could not be made (its chain raised or answered an error)."""


class DependencyScope:
    """Makes ``dependency`` the way FastAPI makes it for a route, for a job of our own.

    The forgot-password work runs after its answer was sent, when the request's dependencies
    (the user manager, its database session) are already closed: they close with the answer,
    and keeping them open would hold the client's keep-alive connection until the mail is
    sent, a timing signal of whether the address had an account. So each job gets a manager
    of its own, made by FastAPI's own dependency solver through a private route: sub-
    dependencies, ``yield`` clean-up and the application's ``dependency_overrides`` behave as
    for any route, and everything the dependency opened is closed when the job ends. Path
    and query parameters the chain reads are found where the request's route found them.
    """

    def __init__(self, dependency: Callable[..., Any]) -> None:
        self._dependency = dependency
        self._routes: weakref.WeakKeyDictionary[Any, dict[str, ASGIApp]] = (
            weakref.WeakKeyDictionary()
        )

    async def run(self, request_scope: Scope, job: Callable[[Any], Awaitable[None]]) -> None:
        """Await ``job(dependency)``; `DependencyUnavailableError` if it never ran.

        ``request_scope`` is the scope of the request the job comes from: dependencies that
        read the request (its headers, ``request.state``) see that request.
        """
        ran: list[bool] = []

        async def run_job(dependency: Any) -> None:
            ran.append(True)
            await job(dependency)

        # The request as it came (path, query, headers, state), without the stacks FastAPI
        # closed when it answered.
        scope = {k: v for k, v in request_scope.items() if not k.startswith("fastapi_")}
        scope.pop("route", None)
        scope[_JOB_KEY] = run_job
        # The private route's path declares the request's path parameters (by name; it is
        # never matched against a URL), so that the chain finds them as its route did.
        path = "/" + "/".join(f"{{{name}}}" for name in scope.get("path_params", {}))
        answer: list[Message] = []

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            answer.append(message)

        async with AsyncExitStack() as files:
            # What FastAPI's application-level middleware provides a route (it closes uploads).
            scope["fastapi_middleware_astack"] = files
            await self._route_for(scope.get("app"), path)(scope, receive, send)
        if not ran:
            status = next((m["status"] for m in answer if "status" in m), None)
            raise DependencyUnavailableError(f"the dependency chain answered {status}")

    def _route_for(self, app: Any, path: str) -> ASGIApp:
        """One private route per application and path: the application's
        ``dependency_overrides`` apply, and the path declares the same path parameters."""
        if app is None:
            return self._build(app, path)
        routes = self._routes.setdefault(app, {})
        if path not in routes:
            routes[path] = self._build(app, path)
        return routes[path]

    def _build(self, app: Any, path: str) -> ASGIApp:
        dependency = self._dependency

        async def endpoint(request: Request, made: Any = Depends(dependency)) -> Response:  # noqa: B008
            await request.scope[_JOB_KEY](made)
            return Response(status_code=204)

        route = APIRoute(path, endpoint, methods=["POST"], dependency_overrides_provider=app)
        return route.app
