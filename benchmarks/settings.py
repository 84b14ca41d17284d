"""What both benchmark applications share. Standard library only: the fastapi-users
application imports it from its own virtual environment, where this library is absent."""

from __future__ import annotations

import hashlib
import os
import uuid

SECRET = "benchmark-secret-of-more-than-thirty-two-bytes"
# argon2id, RFC 9106 low-memory profile, identical in both applications.
ARGON2 = {"time_cost": 3, "memory_cost": 65536, "parallelism": 4, "hash_len": 32, "salt_len": 16}
HOOK_DELAY_SECONDS = 0.1  # what sending an e-mail costs
# Outdated stored hashes for the log-in timing: argon2id at OWASP's cheat-sheet minimum
# (19 MiB, two passes, one lane), what a site configured a few years ago may still hold.
OUTDATED_ARGON2 = {
    "time_cost": 2, "memory_cost": 19456, "parallelism": 1, "hash_len": 32, "salt_len": 16,
}  # fmt: skip
OUTDATED_USER_COUNT = 20
USER_COUNT = int(os.environ.get("BENCH_USERS", "200"))
INITIAL_PASSWORD = "initial passphrase"
SEED_SALT = b"benchmark-seed-salt"  # the same seeded hash in every worker process
_NAMESPACE = uuid.UUID("6f1c2d2e-6a51-4b8f-9a39-1c1f6f1a0b7e")


def user_email(index: int) -> str:
    return f"user{index}@bench.example.com"


def user_id(email: str) -> uuid.UUID:
    """The same version-4 id in every process, so that several workers agree on who is who."""
    digest = hashlib.sha256(_NAMESPACE.bytes + email.encode()).digest()
    return uuid.UUID(bytes=digest[:16], version=4)


def unknown_email(index: int) -> str:
    return f"nobody{index}@bench.example.com"


def outdated_email(index: int) -> str:
    """A user whose stored hash has `OUTDATED_ARGON2` parameters."""
    return f"old{index}@bench.example.com"
