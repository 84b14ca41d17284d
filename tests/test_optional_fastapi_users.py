"""fastapi-users stays optional: nothing imports it but the adapter, which names its extra."""

from __future__ import annotations

import subprocess
import sys
import textwrap

PROGRAM = textwrap.dedent(
    """
    import importlib, pkgutil, sys
    import fastapi_password_reset

    adapter = "fastapi_password_reset.contrib.fastapi_users"
    for module in pkgutil.walk_packages(fastapi_password_reset.__path__, "fastapi_password_reset."):
        if module.name.startswith("fastapi_password_reset.contrib."):
            continue
        importlib.import_module(module.name)
    print("imported:", sorted(m for m in sys.modules if m.startswith("fastapi_users")))
    sys.modules["fastapi_users"] = None  # as if fastapi-users were not installed
    try:
        importlib.import_module(adapter)
    except ImportError as exc:
        print(exc)
    """
)


def test_nothing_imports_fastapi_users_and_the_adapter_names_its_extra() -> None:
    """Every module of the package imports without fastapi-users; the adapter says what to
    install."""
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "imported: []" in result.stdout
    assert "pip install '.[fastapi-users]' in a clone of the repository" in result.stdout
    assert "pip install 'fastapi-password-reset[fastapi-users]' once a release is on PyPI" in (
        result.stdout
    )
