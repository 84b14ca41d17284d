"""User storage: the `BaseUserDatabase` protocol and its adapters."""

from fastapi_password_reset.db.base import BaseUserDatabase
from fastapi_password_reset.db.memory import InMemoryUserDatabase

__all__ = ["BaseUserDatabase", "InMemoryUserDatabase"]
