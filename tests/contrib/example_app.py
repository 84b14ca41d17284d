"""fastapi-users 15's "Full example" for SQLAlchemy, as a factory, with either reset router.

The structure follows the documented example (``app/db.py``, ``app/schemas.py``,
``app/users.py``, ``app/app.py``): a session dependency, ``get_user_db``,
``get_user_manager``, a ``UserManager`` with hooks, a JWT bearer backend, the auth, register,
reset, verify and users routers, and ``/authenticated-route``. What differs is for tests:
each call builds a fresh application on its own database, the hooks record what they are
given instead of printing it, and passwords hash with cheap argon2 parameters.

``reset_router="swapped"`` is the one-line change an application makes to adopt this
library; everything else stays stock fastapi-users.
"""

import math
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi_users import BaseUserManager, FastAPIUsers, IntegerIDMixin, UUIDIDMixin, models
from fastapi_users.authentication import AuthenticationBackend, BearerTransport, JWTStrategy
from fastapi_users.db import BaseUserDatabase
from fastapi_users.password import PasswordHelper
from fastapi_users_db_sqlalchemy import SQLAlchemyUserDatabase
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy.ext.asyncio import AsyncSession

from fastapi_password_reset import BackgroundWork
from fastapi_password_reset.tokens import ResetTokenStrategy
from tests.contrib.example_db import Database, IntBase, IntUser, UUIDBase, UUIDUser
from tests.contrib.example_schemas import IntUserRead, UserCreate, UserUpdate, UUIDUserRead

IdKind = Literal["uuid", "int"]
RouterKind = Literal["stock", "swapped"]
PasswordPolicy = Callable[[str, Any], Awaitable[None]]
"""``UserManager.validate_password``'s body: raise ``InvalidPasswordException`` to refuse."""

# At least 32 bytes: PyJWT warns about shorter HMAC keys, and the suite turns warnings into
# errors. The example's "SECRET" would fail for that reason alone.
SECRET = "example-app-secret-long-enough-for-hs256-0123456789"

# The lowest argon2 costs argon2-cffi accepts: the tests hash on every register, login and
# reset, and the example's defaults would make the suite minutes long.
CHEAP_PASSWORDS = PasswordHelper(
    PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1),))
)


@dataclass(frozen=True)
class HookCall:
    """One call of a ``UserManager`` hook; plain values, so no ORM object outlives its session."""

    hook: str
    user_id: str
    email: str
    token: str | None = None


@dataclass
class HookLog:
    """Every hook call of one application, in order."""

    calls: list[HookCall] = field(default_factory=list)

    def record(self, hook: str, user: models.UserProtocol[Any], token: str | None = None) -> None:
        self.calls.append(HookCall(hook, str(user.id), user.email, token))

    def named(self, hook: str) -> list[HookCall]:
        return [call for call in self.calls if call.hook == hook]

    def token_for(self, hook: str, email: str) -> str:
        """The token of the latest ``hook`` call for ``email``; AssertionError if none."""
        tokens = [
            call.token
            for call in self.named(hook)
            if call.email.lower() == email.lower() and call.token is not None
        ]
        assert tokens, f"{hook} was not called for {email}: {self.calls}"
        return tokens[-1]


class RecordingUserManager(BaseUserManager[models.UP, models.ID]):
    """The example's ``UserManager``: same secrets and hooks, recording instead of printing."""

    reset_password_token_secret = SECRET
    verification_token_secret = SECRET

    def __init__(
        self,
        user_db: BaseUserDatabase[models.UP, models.ID],
        hooks: HookLog,
        policy: PasswordPolicy | None,
    ) -> None:
        super().__init__(user_db, CHEAP_PASSWORDS)
        self.hooks = hooks
        self.policy = policy

    async def validate_password(self, password: str, user: Any) -> None:
        if self.policy is not None:
            await self.policy(password, user)

    async def on_after_register(self, user: models.UP, request: Request | None = None) -> None:
        self.hooks.record("on_after_register", user)

    async def on_after_forgot_password(
        self, user: models.UP, token: str, request: Request | None = None
    ) -> None:
        self.hooks.record("on_after_forgot_password", user, token)

    async def on_after_reset_password(
        self, user: models.UP, request: Request | None = None
    ) -> None:
        self.hooks.record("on_after_reset_password", user)

    async def on_after_request_verify(
        self, user: models.UP, token: str, request: Request | None = None
    ) -> None:
        self.hooks.record("on_after_request_verify", user, token)


class UUIDUserManager(UUIDIDMixin, RecordingUserManager[UUIDUser, uuid.UUID]):
    pass


class IntUserManager(IntegerIDMixin, RecordingUserManager[IntUser, int]):
    pass


def get_jwt_strategy() -> JWTStrategy[models.UP, models.ID]:
    return JWTStrategy(secret=SECRET, lifetime_seconds=3600)


auth_backend: AuthenticationBackend[Any, Any] = AuthenticationBackend(
    name="jwt",
    transport=BearerTransport(tokenUrl="auth/jwt/login"),
    get_strategy=get_jwt_strategy,
)


def user_manager_dependency(
    database: Database,
    user_table: type[Any],
    manager_class: type[RecordingUserManager[Any, Any]],
    hooks: HookLog,
    policy: PasswordPolicy | None,
) -> Callable[..., AsyncIterator[RecordingUserManager[Any, Any]]]:
    """The example's chain get_async_session -> get_user_db -> get_user_manager."""

    async def get_user_db(
        session: Annotated[AsyncSession, Depends(database.get_async_session)],
    ) -> AsyncIterator[SQLAlchemyUserDatabase[Any, Any]]:
        yield SQLAlchemyUserDatabase(session, user_table)

    async def get_user_manager(
        user_db: Annotated[SQLAlchemyUserDatabase[Any, Any], Depends(get_user_db)],
    ) -> AsyncIterator[RecordingUserManager[Any, Any]]:
        yield manager_class(user_db, hooks, policy)

    return get_user_manager


@dataclass
class ExampleApp:
    """A built application and what its tests need of it."""

    app: FastAPI
    hooks: HookLog
    database: Database
    id_kind: IdKind
    reset_router: RouterKind
    background: BackgroundWork | None
    """Where the swapped router runs its after-answer work; None for the stock router."""

    async def create_tables(self) -> None:
        await self.database.create_tables()

    async def settle(self) -> None:
        """Wait for what runs after the answers: the swapped router's lookups and hooks.

        The stock router runs its hooks before answering, so there is nothing to wait for.
        """
        if self.background is not None:
            await self.background.drain(math.inf)

    async def dispose(self) -> None:
        await self.settle()
        await self.database.engine.dispose()


def build_example_app(
    database_url: str,
    *,
    id_kind: IdKind,
    reset_router: RouterKind,
    token_strategy: ResetTokenStrategy | None = None,
    background: BackgroundWork | None = None,
    validate_password: PasswordPolicy | None = None,
) -> ExampleApp:
    """The example application on ``database_url`` (tables not created yet).

    With ``reset_router="swapped"`` and no ``background``, one is made here so that tests can
    wait on it (`ExampleApp.settle`).
    """
    hooks = HookLog()
    if id_kind == "uuid":
        database = Database(database_url, UUIDBase.metadata)
        manager_class: type[RecordingUserManager[Any, Any]] = UUIDUserManager
        user_table: type[Any] = UUIDUser
        read_schema: type[Any] = UUIDUserRead
    else:
        database = Database(database_url, IntBase.metadata)
        manager_class, user_table, read_schema = IntUserManager, IntUser, IntUserRead
    get_user_manager = user_manager_dependency(
        database, user_table, manager_class, hooks, validate_password
    )
    fastapi_users = FastAPIUsers[Any, Any](get_user_manager, [auth_backend])

    if reset_router == "stock":
        if token_strategy is not None or background is not None:
            raise ValueError("the stock reset router takes no token_strategy or background")
        reset = fastapi_users.get_reset_password_router()
    else:
        # Imported here so that the stock application works without the contrib module.
        from fastapi_password_reset.contrib.fastapi_users import get_reset_password_router

        background = background if background is not None else BackgroundWork()
        reset = get_reset_password_router(
            fastapi_users.get_user_manager, token_strategy=token_strategy, background=background
        )

    app = assemble_app(database, fastapi_users, read_schema, reset)
    return ExampleApp(app, hooks, database, id_kind, reset_router, background)


def assemble_app(
    database: Database,
    fastapi_users: FastAPIUsers[Any, Any],
    read_schema: type[Any],
    reset_router: APIRouter,
) -> FastAPI:
    """The example's ``app/app.py``: its routers, prefixes and tags, and its one own route."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await database.create_tables()  # the example has no migrations
        yield

    app = FastAPI(lifespan=lifespan)
    app.include_router(
        fastapi_users.get_auth_router(auth_backend), prefix="/auth/jwt", tags=["auth"]
    )
    app.include_router(
        fastapi_users.get_register_router(read_schema, UserCreate), prefix="/auth", tags=["auth"]
    )
    app.include_router(reset_router, prefix="/auth", tags=["auth"])
    app.include_router(fastapi_users.get_verify_router(read_schema), prefix="/auth", tags=["auth"])
    app.include_router(
        fastapi_users.get_users_router(read_schema, UserUpdate), prefix="/users", tags=["users"]
    )

    current_active_user = fastapi_users.current_user(active=True)

    @app.get("/authenticated-route")
    async def authenticated_route(
        user: Annotated[models.UserProtocol[Any], Depends(current_active_user)],
    ) -> dict[str, str]:
        return {"message": f"Hello {user.email}!"}

    return app
