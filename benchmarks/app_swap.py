"""fastapi-users 15's SQLAlchemy "Full example", once with its stock reset router and once with
this library's, for `benchmarks.swap` (runs in ``.venv-fastapi-users``).

Configured by environment variables:

- ``BENCH_SWAP_ROUTER``: ``stock`` (``fastapi_users.get_reset_password_router()``) or
  ``swapped`` (``fastapi_password_reset.contrib.fastapi_users.get_reset_password_router``,
  with ``min_interval_seconds=0`` so that repeated requests for one user all issue a token);
- ``BENCH_SWAP_DATABASE_URL``: an async SQLAlchemy URL (``postgresql+asyncpg://`` or
  ``sqlite+aiosqlite://``), a database of its own per server.

Everything else is the documented example and identical in both: the session, user-database
and user-manager dependency chain, the JWT bearer backend, the routers and
``/authenticated-route``. The manager's `PasswordHelper` uses argon2id at the RFC 9106
low-memory profile (`settings.ARGON2`), and ``on_after_forgot_password`` records the token and
then awaits 100 ms (sending the mail). Routes for measuring, under ``/bench``: ``GET /bench/ping``
(a trivial route), ``GET /bench/mail`` (the latest token the hook got for an address) and
``GET /bench/stats`` (hook calls, mails finished and the swapped router's events).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi_users import BaseUserManager, FastAPIUsers, UUIDIDMixin, schemas
from fastapi_users.authentication import AuthenticationBackend, BearerTransport, JWTStrategy
from fastapi_users.password import PasswordHelper
from fastapi_users_db_sqlalchemy import SQLAlchemyBaseUserTableUUID, SQLAlchemyUserDatabase
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from benchmarks import settings
from benchmarks.swap_measures import PROBE_EMAIL, PROBE_PASSWORD

if TYPE_CHECKING:
    from fastapi_password_reset import BackgroundWork

ROUTER = os.environ.get("BENCH_SWAP_ROUTER", "stock")
DATABASE_URL = os.environ.get("BENCH_SWAP_DATABASE_URL", "sqlite+aiosqlite:///./swap-bench.db")
if ROUTER not in ("stock", "swapped"):
    raise RuntimeError(f"BENCH_SWAP_ROUTER must be stock or swapped, not {ROUTER!r}")


# --- app/db.py ------------------------------------------------------------------------------


class Base(DeclarativeBase):
    pass


class User(SQLAlchemyBaseUserTableUUID, Base):
    pass


engine = create_async_engine(DATABASE_URL)
async_session_maker = async_sessionmaker(engine, expire_on_commit=False)


async def get_async_session() -> AsyncIterator[AsyncSession]:
    async with async_session_maker() as session:
        yield session


async def get_user_db(
    session: Annotated[AsyncSession, Depends(get_async_session)],
) -> AsyncIterator[SQLAlchemyUserDatabase[User, uuid.UUID]]:
    yield SQLAlchemyUserDatabase(session, User)


# --- app/schemas.py ------------------------------------------------------------------------


class UserRead(schemas.BaseUser[uuid.UUID]):
    pass


class UserCreate(schemas.BaseUserCreate):
    pass


class UserUpdate(schemas.BaseUserUpdate):
    pass


# --- app/users.py ---------------------------------------------------------------------------

ARGON2 = settings.ARGON2
password_helper = PasswordHelper(
    PasswordHash(
        (
            Argon2Hasher(
                time_cost=ARGON2["time_cost"],
                memory_cost=ARGON2["memory_cost"],
                parallelism=ARGON2["parallelism"],
                hash_len=ARGON2["hash_len"],
                salt_len=ARGON2["salt_len"],
            ),
        )
    )
)
"""The example's default helper made with argon2id at the RFC 9106 low-memory profile."""


@dataclass
class Mailbox:
    """What the mail hook was given: the latest token per address, and counters."""

    latest: dict[str, tuple[int, str]] = field(default_factory=dict)
    calls: int = 0
    sent: int = 0
    events: Counter[str] = field(default_factory=Counter)


mailbox = Mailbox()
background: BackgroundWork | None = None
"""The swapped router's after-answer work; the stock application imports nothing of ours."""


class UserManager(UUIDIDMixin, BaseUserManager[User, uuid.UUID]):
    reset_password_token_secret = settings.SECRET
    verification_token_secret = settings.SECRET

    async def on_after_forgot_password(
        self, user: User, token: str, request: Request | None = None
    ) -> None:
        mailbox.calls += 1
        mailbox.latest[user.email] = (mailbox.calls, token)
        await asyncio.sleep(settings.HOOK_DELAY_SECONDS)  # sending the mail
        mailbox.sent += 1


async def get_user_manager(
    user_db: Annotated[SQLAlchemyUserDatabase[User, uuid.UUID], Depends(get_user_db)],
) -> AsyncIterator[UserManager]:
    yield UserManager(user_db, password_helper)


def get_jwt_strategy() -> JWTStrategy[User, uuid.UUID]:
    return JWTStrategy(secret=settings.SECRET, lifetime_seconds=3600)


auth_backend = AuthenticationBackend[User, uuid.UUID](
    name="jwt",
    transport=BearerTransport(tokenUrl="auth/jwt/login"),
    get_strategy=get_jwt_strategy,
)
fastapi_users = FastAPIUsers[User, uuid.UUID](get_user_manager, [auth_backend])
current_active_user = fastapi_users.current_user(active=True)


def reset_router() -> APIRouter:
    """The one line an application changes."""
    global background
    if ROUTER == "stock":
        return fastapi_users.get_reset_password_router()
    from fastapi_password_reset import BackgroundWork, ResetEvent
    from fastapi_password_reset.contrib.fastapi_users import get_reset_password_router

    def count_event(event: ResetEvent) -> None:
        mailbox.events[event.event.value] += 1

    # The per-user throttle (one mail a minute by default) would turn most of the repeated
    # requests of the benchmark into no-ops; it is off so that both routers do the same work.
    # The background work is the router's default, made here only so /bench/stats can read
    # its queue.
    background = BackgroundWork()
    return get_reset_password_router(
        fastapi_users.get_user_manager,
        min_interval_seconds=0,
        background=background,
        on_event=count_event,
    )


# --- app/app.py -----------------------------------------------------------------------------


async def seed_users() -> None:
    """``settings.USER_COUNT`` users and the probe user, all with one argon2 hash."""
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    async with async_session_maker() as session:
        if await session.scalar(select(func.count()).select_from(User)):
            return
        hashed = password_helper.hash(settings.INITIAL_PASSWORD)
        emails = [settings.user_email(index) for index in range(settings.USER_COUNT)]
        session.add_all(
            User(id=settings.user_id(email), email=email, hashed_password=hashed)
            for email in emails
        )
        probe_hash = password_helper.hash(PROBE_PASSWORD)
        session.add(User(id=uuid.uuid4(), email=PROBE_EMAIL, hashed_password=probe_hash))
        await session.commit()


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    await seed_users()
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)
app.include_router(fastapi_users.get_auth_router(auth_backend), prefix="/auth/jwt", tags=["auth"])
app.include_router(
    fastapi_users.get_register_router(UserRead, UserCreate), prefix="/auth", tags=["auth"]
)
app.include_router(reset_router(), prefix="/auth", tags=["auth"])
app.include_router(fastapi_users.get_verify_router(UserRead), prefix="/auth", tags=["auth"])
app.include_router(
    fastapi_users.get_users_router(UserRead, UserUpdate), prefix="/users", tags=["users"]
)


@app.get("/authenticated-route")
async def authenticated_route(
    user: Annotated[User, Depends(current_active_user)],
) -> dict[str, str]:
    return {"message": f"Hello {user.email}!"}


bench = APIRouter(prefix="/bench")


@bench.get("/ping")
async def ping() -> dict[str, bool]:
    return {"ok": True}


@bench.get("/mail")
async def latest_mail(email: str) -> dict[str, Any]:
    """The sequence number and token of the latest hook call for ``email`` (0 and None: none)."""
    number, token = mailbox.latest.get(email, (0, None))
    return {"number": number, "token": token}


@bench.get("/stats")
async def stats() -> dict[str, Any]:
    return {
        "router": ROUTER,
        "hook_calls": mailbox.calls,
        "mails_sent": mailbox.sent,
        "events": dict(mailbox.events),
        "pending": background.pending if background is not None else 0,
        "shed": background.shed if background is not None else 0,
        # Connections taken from the engine's pool (the example's defaults: 5 + 10 overflow).
        "db_connections_checked_out": engine.pool.checkedout(),  # type: ignore[attr-defined]
    }


app.include_router(bench)
