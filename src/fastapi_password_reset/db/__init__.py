"""User storage: the `BaseUserDatabase` protocol, the e-mail key, and its adapters."""

from fastapi_password_reset.db.base import BaseUserDatabase, canonical_email
from fastapi_password_reset.db.memory import InMemoryUserDatabase

__all__ = ["BaseUserDatabase", "InMemoryUserDatabase", "canonical_email"]
