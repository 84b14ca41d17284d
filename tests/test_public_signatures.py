"""Every keyword a public callable takes is in its signature, so the API reference shows it.

mkdocstrings renders signatures: a ``**options`` catch-all hides the keywords it forwards
(``key_prefix`` of `RedisResetCodeStrategy` was one), and a reader of docs/reference.md
cannot learn them. So no public callable of this package takes ``**kwargs``.
"""

from __future__ import annotations

import importlib
import inspect
import re
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.doc_programs import ROOT

PACKAGE = "fastapi_password_reset"
# The modules an application imports from; ``mail`` once it exists.
PUBLIC_MODULES = [
    PACKAGE,
    f"{PACKAGE}.authentication",
    f"{PACKAGE}.db",
    f"{PACKAGE}.mail",
    f"{PACKAGE}.testing",
    f"{PACKAGE}.tokens",
]
# Optional dependencies whose absence leaves a reference entry out of this environment (the
# fastapi-users adapter is checked where fastapi-users is installed: tests/contrib).
OPTIONAL_DEPENDENCIES = {"fastapi_users"}


def _import(module_name: str) -> types.ModuleType | None:
    """The module; None if it does not exist or needs an optional dependency not installed."""
    try:
        return importlib.import_module(module_name)
    except ImportError as error:
        # The adapter raises its own ImportError, naming the extra, from the missing module's.
        missing = error if isinstance(error, ModuleNotFoundError) else error.__cause__
        if not isinstance(missing, ModuleNotFoundError):
            raise
        if missing.name == module_name or (missing.name or "").split(".")[0] in (
            OPTIONAL_DEPENDENCIES
        ):
            return None
        raise


def public_objects() -> dict[str, Any]:
    """Every name in ``__all__`` of the public modules (their public definitions where a module
    has no ``__all__``) and every entry of docs/reference.md, by dotted path."""
    found: dict[str, Any] = {}
    for module_name in PUBLIC_MODULES:
        module = _import(module_name)
        if module is None:
            continue
        names = getattr(module, "__all__", None) or [
            name
            for name, value in vars(module).items()
            if not name.startswith("_") and getattr(value, "__module__", None) == module_name
        ]
        for name in names:
            found[f"{module_name}.{name}"] = getattr(module, name)
    reference = (ROOT / "docs" / "reference.md").read_text()
    for path in re.findall(r"^::: (\S+)$", reference, re.MULTILINE):
        module_name, _, name = path.rpartition(".")
        module = _import(module_name)
        if module is not None:
            found[path] = getattr(module, name)
    return {
        path: value
        for path, value in found.items()
        if callable(value) and not isinstance(value, types.ModuleType)
    }


def _ours(function: object) -> bool:
    return str(getattr(function, "__module__", "")).startswith(PACKAGE)


def signatures(path: str, value: Any) -> Iterator[tuple[str, Callable[..., Any]]]:
    """The callables of ``value`` that this package defines: a function itself; a class's
    constructor and public methods, wherever in its bases of this package they are defined.

    Constructors and methods a class inherits from elsewhere (``Exception``, ``Enum``,
    pydantic's ``BaseModel``, ``typing.Protocol``) are not ours to change, and the reference
    shows no signature of theirs.
    """
    if not inspect.isclass(value):
        yield path, value
        return
    seen: set[str] = set()
    for klass in value.__mro__:
        for name, member in vars(klass).items():
            if name in seen:
                continue  # overridden: the class's own definition is the one it has
            seen.add(name)
            function = member.__func__ if isinstance(member, classmethod | staticmethod) else member
            if not inspect.isfunction(function) or not _ours(function):
                continue
            if name == "__init__" or not name.startswith("_"):
                yield f"{path}.{name}", function


def _callables() -> dict[str, Callable[..., Any]]:
    """Each callable once, under the first (shortest) path that reaches it."""
    by_function: dict[Callable[..., Any], str] = {}
    for path, value in sorted(public_objects().items(), key=lambda item: len(item[0])):
        for name, function in signatures(path, value):
            by_function.setdefault(function, name)
    return {name: function for function, name in by_function.items()}


CALLABLES = _callables()


def test_the_walk_reaches_the_constructors_the_reference_documents() -> None:
    """The walk is not vacuous: it sees the strategies' constructors and the router factory."""
    for path in (
        f"{PACKAGE}.tokens.RedisResetTokenStrategy.__init__",
        f"{PACKAGE}.tokens.RedisResetCodeStrategy.__init__",
        f"{PACKAGE}.FastAPIUsers.get_reset_password_router",
        f"{PACKAGE}.db.sqlalchemy.create_tables",
    ):
        assert path in CALLABLES, path
    code_strategy = inspect.signature(
        CALLABLES[f"{PACKAGE}.tokens.RedisResetCodeStrategy.__init__"]
    )
    assert "key_prefix" in code_strategy.parameters


@pytest.mark.parametrize("path", sorted(CALLABLES))
def test_no_public_callable_hides_keywords_behind_a_catch_all(path: str) -> None:
    """No ``**kwargs``: each keyword is a parameter of its own, with its default."""
    hidden = [
        parameter.name
        for parameter in inspect.signature(CALLABLES[path]).parameters.values()
        if parameter.kind is inspect.Parameter.VAR_KEYWORD
    ]
    assert hidden == []
