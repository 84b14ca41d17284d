"""PasswordHelper: argon2id off the event loop, rehash on parameter change."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import threading
import time
from typing import Any

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST, RFC_9106_LOW_MEMORY

from fastapi_password_reset import PasswordHelper

pytestmark = pytest.mark.anyio


def test_the_default_profile_is_rfc_9106_low_memory() -> None:
    """Real parameters unless told otherwise."""
    assert PasswordHelper().parameters == RFC_9106_LOW_MEMORY


class ThreadRecordingHasher:
    """The real hasher, noting which thread each call runs on."""

    def __init__(self, inner: PasswordHasher) -> None:
        self.inner = inner
        self.threads: list[int] = []

    def hash(self, password: str) -> str:
        self.threads.append(threading.get_ident())
        return self.inner.hash(password)

    def verify(self, hashed: str, password: str) -> bool:
        self.threads.append(threading.get_ident())
        return self.inner.verify(hashed, password)

    def check_needs_rehash(self, hashed: str) -> bool:
        return self.inner.check_needs_rehash(hashed)


async def test_hash_and_verify_run_in_a_worker_thread() -> None:
    """argon2 never runs on the event loop's thread."""
    helper = PasswordHelper(CHEAPEST)
    recorder = ThreadRecordingHasher(helper._hasher)
    helper._hasher = recorder  # type: ignore[assignment]
    hashed = await helper.hash("a long passphrase")
    assert await helper.verify_and_update("a long passphrase", hashed) == (True, None)
    assert len(recorder.threads) == 2
    assert threading.get_ident() not in recorder.threads
    assert hashed.startswith("$argon2id$")


async def test_a_wrong_or_corrupt_hash_does_not_verify() -> None:
    """Mismatch and garbage both answer False, never raise."""
    helper = PasswordHelper(CHEAPEST)
    hashed = await helper.hash("right")
    assert await helper.verify_and_update("wrong", hashed) == (False, None)
    assert await helper.verify_and_update("right", "not-a-hash") == (False, None)


async def test_a_hash_under_old_parameters_is_upgraded() -> None:
    """verify_and_update returns a new hash made with the current parameters."""
    old = PasswordHelper(CHEAPEST)
    new = PasswordHelper(RFC_9106_LOW_MEMORY)
    hashed = await old.hash("passphrase")
    verified, upgraded = await new.verify_and_update("passphrase", hashed)
    assert verified
    assert upgraded is not None
    assert f"m={RFC_9106_LOW_MEMORY.memory_cost}" in upgraded
    assert await new.verify_and_update("passphrase", upgraded) == (True, None)


async def test_dummy_verify_spends_one_verification() -> None:
    """The unknown-user path costs a real verify."""
    helper = PasswordHelper(CHEAPEST)
    await helper.dummy_verify()
    assert helper._dummy_hash is not None
    assert helper._dummy_hash.startswith("$argon2id$")


class OverlapRecordingHasher(ThreadRecordingHasher):
    """Notes the niceness of each hashing thread and how many hashes ran at once."""

    def __init__(self, inner: PasswordHasher) -> None:
        super().__init__(inner)
        self.niceness: list[int] = []
        self.running = 0
        self.most_at_once = 0
        self.lock = threading.Lock()

    def hash(self, password: str) -> str:
        with self.lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            self.niceness.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        try:
            time.sleep(0.02)
            return super().hash(password)
        finally:
            with self.lock:
                self.running -= 1


async def test_hashing_threads_step_back_and_are_bounded() -> None:
    """Hash threads run at a lower priority than the loop, at most N at a time."""
    helper = PasswordHelper(CHEAPEST, max_concurrent_hashes=2, niceness=7)
    recorder = OverlapRecordingHasher(helper._hasher)
    helper._hasher = recorder  # type: ignore[assignment]
    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    await asyncio.gather(*(helper.hash(f"passphrase {i}") for i in range(8)))
    assert recorder.most_at_once == 2
    assert set(recorder.niceness) == {min(base + 7, 19)}
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base


async def test_helpers_with_the_same_settings_share_one_pool() -> None:
    """The bound is per process: two helpers do not double the hashing threads."""
    first = PasswordHelper(CHEAPEST, max_concurrent_hashes=3)
    second = PasswordHelper(CHEAPEST, max_concurrent_hashes=3)
    assert first._executor is second._executor
    assert PasswordHelper(CHEAPEST, max_concurrent_hashes=4)._executor is not first._executor


class VerifyCounter:
    """Wraps a hasher and notes the parameters of every hash it verifies against."""

    def __init__(self, inner: PasswordHasher) -> None:
        self.inner = inner
        self.verified: list[str] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def verify(self, hashed: str, password: str) -> bool:
        self.verified.append(hashed.split("$")[3])
        return self.inner.verify(hashed, password)


@pytest.mark.parametrize("stored", ["outdated", "current", "corrupt"])
async def test_a_refused_password_costs_one_current_verification(stored: str) -> None:
    """Against a cheaper (or unreadable) stored hash, a wrong password spends the difference:
    the argon2 work (time x memory) of its verifications adds up to one current verification."""
    parameters = dataclasses.replace(CHEAPEST, time_cost=2, memory_cost=16)
    helper = PasswordHelper(parameters)
    hashed = {
        "outdated": PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("right"),
        "current": await helper.hash("right"),
        "corrupt": "$argon2id$v=19$m=8,t=1,p=1$not-base64!",
    }[stored]
    counter = VerifyCounter(helper._hasher)
    helper._hasher = counter  # type: ignore[assignment]
    padding = VerifyCounter(PasswordHasher.from_parameters(parameters))
    original_padding = helper._padding

    def counted_padding(memory_cost: int) -> tuple[Any, str]:
        hasher, padded = original_padding(memory_cost)
        padding.inner = hasher
        return padding, padded

    helper._padding = counted_padding  # type: ignore[method-assign]
    assert await helper.verify_and_update("wrong", hashed) == (False, None)

    def work(settings: str) -> int:
        values = dict(item.split("=") for item in settings.split(","))
        return int(values["t"]) * int(values["m"])

    readable = [s for s in counter.verified if stored != "corrupt"]
    spent = sum(work(s) for s in [*readable, *padding.verified])
    assert spent == 2 * 16
