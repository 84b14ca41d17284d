"""Public names: sorted, complete and importable, as the documentation shows them."""

from __future__ import annotations

import importlib
import types

import pytest

PUBLIC_MODULES = [
    "fastapi_password_reset",
    "fastapi_password_reset.db",
    "fastapi_password_reset.tokens",
    "fastapi_password_reset.testing",
]


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_all_is_sorted_and_names_only_real_members(module_name: str) -> None:
    """__all__ is sorted, and every name in it exists."""
    module = importlib.import_module(module_name)
    assert module.__all__ == sorted(module.__all__)
    for name in module.__all__:
        assert hasattr(module, name), name


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_all_lists_every_public_member(module_name: str) -> None:
    """Every public class or function the package defines and re-exports is in __all__."""
    module = importlib.import_module(module_name)
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and getattr(value, "__module__", "").startswith("fastapi_password_reset")
    }
    assert public <= set(module.__all__)


def test_the_models_module_is_exported() -> None:
    """`from fastapi_password_reset import models` is part of the API."""
    import fastapi_password_reset

    assert "models" in fastapi_password_reset.__all__


def test_the_design_names_import_as_documented() -> None:
    """The import lines of the documentation work."""
    from fastapi_password_reset import FastAPIUsers, InvalidPasswordException, models
    from fastapi_password_reset.authentication import JWTAuthentication
    from fastapi_password_reset.db import BaseUserDatabase, InMemoryUserDatabase
    from fastapi_password_reset.tokens import JWTResetTokenStrategy, ResetTokenStrategy

    assert all(
        [
            FastAPIUsers,
            InvalidPasswordException,
            models.BaseUser,
            models.BaseUserCreate,
            models.BaseUserUpdate,
            models.BaseUserDB,
            JWTAuthentication,
            BaseUserDatabase,
            InMemoryUserDatabase,
            JWTResetTokenStrategy,
            ResetTokenStrategy,
        ]
    )


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_the_api_reference_documents_every_public_name(module_name: str) -> None:
    """docs/reference.md has an entry for each name in __all__ (modules and the version aside)."""
    from pathlib import Path

    reference = (Path(__file__).parent.parent / "docs" / "reference.md").read_text()
    module = importlib.import_module(module_name)
    missing = [
        name
        for name in module.__all__
        if not isinstance(getattr(module, name), types.ModuleType | str)
        and f".{name}\n" not in reference
    ]
    assert missing == []
