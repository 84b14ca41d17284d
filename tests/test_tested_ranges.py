"""The README's table of tested versions is the one the lock files install."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pins(lock: str) -> dict[str, str]:
    text = (ROOT / "requirements" / lock).read_text()
    return dict(re.findall(r"^([a-z0-9-]+)==(\S+)", text, re.M))


def test_the_readme_table_names_the_locked_and_lowest_versions() -> None:
    """Each row's lowest and locked versions are those of requirements/*.txt."""
    readme = (ROOT / "README.md").read_text()
    table_text = readme[readme.index("| package | lowest") :].split("\n\n")[0]
    rows = re.findall(r"^\| ([a-z0-9-]+)(?: \(the adapter\))? \| ([^|]+) \| ([^|]+) \|$",
                      table_text, re.M)  # fmt: skip
    table = {name: (lowest.strip(), locked.strip()) for name, lowest, locked in rows}
    assert len(table) == 11, table  # the header row, then ten packages
    del table["package"]
    adapter_lowest = table.pop("fastapi-users")
    assert adapter_lowest == (
        f"{pins('lowest-fastapi-users-13.txt')['fastapi-users']}, "
        f"{pins('lowest-fastapi-users-14.txt')['fastapi-users']}",
        pins("fastapi-users.txt")["fastapi-users"],
    )
    lowest, locked = pins("lowest.txt"), pins("dev.txt")
    for name, (lowest_version, locked_version) in table.items():
        assert (lowest_version, locked_version) == (lowest[name], locked[name]), name
