"""Password hashing with argon2id, always off the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import Parameters, PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY

# Hashed once per helper so that a login for an unknown e-mail spends one real verification.
_DUMMY_PASSWORD = "fastapi-password-reset: no such user"  # noqa: S105 - not a credential

# How far hashing threads step back from request handling (nice values, Linux per thread).
HASHING_NICENESS = 10

T = TypeVar("T")

_executors: dict[tuple[int, int], ThreadPoolExecutor] = {}
_executors_lock = threading.Lock()


def _step_back(niceness: int) -> Callable[[], None]:
    def lower_this_threads_priority() -> None:
        # Linux keeps a nice value per thread, and argon2's own lane threads inherit it.
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)

    return lower_this_threads_priority


def _hashing_executor(max_concurrent: int, niceness: int) -> ThreadPoolExecutor:
    """One pool per setting, shared by every helper: the CPU is shared too."""
    with _executors_lock:
        key = (max_concurrent, niceness)
        if key not in _executors:
            _executors[key] = ThreadPoolExecutor(
                max_workers=max_concurrent,
                thread_name_prefix="argon2",
                initializer=_step_back(niceness) if niceness else None,
            )
        return _executors[key]


async def run_hashing(function: Callable[..., T], *args: str) -> T:
    """Run a hash function of someone else's (a password helper of fastapi-users) where this
    module hashes: the shared bounded pool of low-priority threads, off the event loop."""
    executor = _hashing_executor(os.cpu_count() or 1, HASHING_NICENESS)
    return await asyncio.get_running_loop().run_in_executor(executor, function, *args)


class PasswordHelper:
    """Hashes and verifies passwords with argon2id.

    Hashing runs in a pool of its own, never on the event loop: argon2 costs tens of
    milliseconds and tens of megabytes by design. The pool is bounded
    (``max_concurrent_hashes``, default one per CPU), so a burst of resets queues instead of
    holding a hash's memory per request, and its threads run at a lower priority
    (``niceness``), so that on a busy machine request handling gets the CPU first and the
    event loop stays responsive while passwords hash.

    ``parameters`` defaults to argon2-cffi's RFC 9106 low-memory profile; tests pass
    ``argon2.profiles.CHEAPEST``. Hashes made under other parameters still verify, and
    `verify_and_update` returns a fresh hash for them so that stored hashes follow the settings.
    """

    def __init__(
        self,
        parameters: Parameters = RFC_9106_LOW_MEMORY,
        *,
        max_concurrent_hashes: int | None = None,
        niceness: int = HASHING_NICENESS,
    ) -> None:
        self.parameters = parameters
        self._hasher = PasswordHasher.from_parameters(parameters)
        self._dummy_hash: str | None = None
        self._paddings: dict[int, tuple[PasswordHasher, str]] = {}
        concurrency = max_concurrent_hashes or os.cpu_count() or 1
        self._executor = _hashing_executor(concurrency, niceness)

    async def _off_loop(self, function: Callable[..., T], *args: str) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    async def hash(self, password: str) -> str:
        """The argon2id hash of ``password``, with a fresh random salt."""
        return await self._off_loop(self._hasher.hash, password)

    async def verify_and_update(
        self, password: str, hashed_password: str
    ) -> tuple[bool, str | None]:
        """Whether ``password`` matches, and a new hash when the stored one is outdated."""
        return await self._off_loop(self._verify_and_update, password, hashed_password)

    async def dummy_verify(self) -> None:
        """Spend the time of one verification, so an unknown user costs what a known one does."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(_DUMMY_PASSWORD)
        await self.verify_and_update(_DUMMY_PASSWORD + "!", self._dummy_hash)

    def _verify_and_update(self, password: str, hashed_password: str) -> tuple[bool, str | None]:
        """Verify, and rehash an outdated hash; in the time of one verification either way.

        A stored hash made with cheaper parameters verifies faster than a current one, so a
        wrong password against it would answer early and tell that the account exists and is
        old (Django calls the fix "harden_runtime"). A refused password then spends the
        difference: one more verification, with the current time cost and just the memory
        that makes the two add up to one current verification (argon2's work grows with
        time x memory). An accepted one spends the rehash.
        """
        try:
            self._hasher.verify(hashed_password, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            self._spend_the_difference(hashed_password)
            return False, None
        if self._hasher.check_needs_rehash(hashed_password):
            return True, self._hasher.hash(password)
        return True, None

    def _spend_the_difference(self, hashed_password: str) -> None:
        current = self.parameters
        try:
            stored = extract_parameters(hashed_password)
            spent = stored.time_cost * stored.memory_cost
        except InvalidHashError:
            spent = 0  # refused without any work: spend a whole verification
        missing = current.time_cost * current.memory_cost - spent
        if missing * 10 < current.time_cost * current.memory_cost:
            return  # within a tenth of a current verification already
        memory = max(8 * current.parallelism, missing // current.time_cost)
        hasher, padding = self._padding(memory)
        with contextlib.suppress(VerificationError):
            hasher.verify(padding, _DUMMY_PASSWORD + "!")

    def _padding(self, memory_cost: int) -> tuple[PasswordHasher, str]:
        """A hasher using ``memory_cost`` KiB and a hash of its own to verify against (kept:
        outdated hashes come in a few shapes, one per past setting)."""
        if memory_cost not in self._paddings:
            parameters = dataclasses.replace(self.parameters, memory_cost=memory_cost)
            hasher = PasswordHasher.from_parameters(parameters)
            if len(self._paddings) >= 16:
                self._paddings.pop(next(iter(self._paddings)))
            self._paddings[memory_cost] = (hasher, hasher.hash(_DUMMY_PASSWORD))
        return self._paddings[memory_cost]
