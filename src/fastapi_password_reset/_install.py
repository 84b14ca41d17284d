"""How to install an optional part, said as the README's install section says it."""

from __future__ import annotations


def install_hint(extra: str) -> str:
    """The pip commands that add ``extra``.

    No release is on PyPI yet, so ``pip install 'fastapi-password-reset[redis]'`` alone would
    send a newcomer to an index that has nothing: the command for a clone (or the wheel built
    from it) comes first, the one for PyPI second.
    """
    return (
        f"pip install '.[{extra}]' in a clone of the repository (a wheel built there takes the "
        f"same [{extra}]), or pip install 'fastapi-password-reset[{extra}]' once a release is "
        "on PyPI"
    )
