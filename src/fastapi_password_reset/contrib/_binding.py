"""The manager's reset secret and lifetime, bound to the token strategy once."""

from __future__ import annotations

import logging
from typing import Any

from fastapi_password_reset._events import EventRecorder
from fastapi_password_reset.contrib._dependency_scope import DependencyScope
from fastapi_password_reset.tokens.base import ResetTokenStrategy

logger = logging.getLogger("fastapi_password_reset")


class ManagerSettings:
    """Binds ``reset_password_token_secret`` and ``reset_password_token_lifetime_seconds`` of
    the application's ``UserManager`` to the strategy.

    fastapi-users keeps them on the manager class, which the router only meets through its
    dependency: they are read from the first manager made (at start-up when the dependency
    can be made without a request) and checked against every later one, cheaply when they
    are the same objects. A manager with other settings is refused by the strategy
    (`StrategyAlreadyBoundError`): its tokens would not verify under the first.
    """

    def __init__(
        self, strategy: ResetTokenStrategy, min_interval_seconds: float, events: EventRecorder
    ) -> None:
        self._strategy = strategy
        self._min_interval_seconds = min_interval_seconds
        self._events = events
        self._bound: tuple[object, object] | None = None

    def bind(self, manager: Any) -> None:
        secret = manager.reset_password_token_secret
        lifetime = manager.reset_password_token_lifetime_seconds
        if self._bound is not None and self._bound[0] is secret and self._bound[1] == lifetime:
            return
        self._strategy.bind(
            secret,
            lifetime,
            min_interval_seconds=self._min_interval_seconds,
            events=self._events,
        )
        self._bound = (secret, lifetime)

    async def bind_at_startup(self, manager_scope: DependencyScope, app: Any) -> None:
        """Bind from a manager made now, so that a refused secret stops the start-up.

        A dependency chain that needs a real request cannot be made here; the settings are
        then bound by the first request, and that is logged.
        """
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/",
            "root_path": "",
            "query_string": b"",
            "path_params": {},
            "headers": [],
            "client": None,
            "server": None,
            "app": app,
        }

        refused: list[Exception] = []

        async def bind(manager: Any) -> None:
            try:
                self.bind(manager)
            except Exception as exc:  # a short secret, a conflicting binding: stop start-up
                refused.append(exc)

        try:
            await manager_scope.run(scope, bind)
        except Exception as exc:
            logger.warning(
                "reset router: the user manager could not be made at start-up (%s); its reset "
                "secret and lifetime will be checked at the first request",
                type(exc).__name__,
            )
        if refused:
            raise refused[0]
