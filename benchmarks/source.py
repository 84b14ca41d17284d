"""Which code a benchmark measured: the commit, and a digest of the library's source tree.

The working tree is what runs, and on a shared checkout it may change while the benchmark runs
(another engineer editing src/): servers started after a change run the new code. The digest
is taken at the start of the run, of each section and at the end, so that the report can say
which sections measured which code.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"


def digest() -> str:
    """SHA-256 over the paths and contents of every Python file under src/, shortened."""
    sha = hashlib.sha256()
    for path in sorted(SRC.rglob("*.py")):
        sha.update(str(path.relative_to(SRC)).encode() + b"\0" + path.read_bytes() + b"\0")
    return sha.hexdigest()[:12]


def _git(*arguments: str) -> str:
    return subprocess.run(
        ["git", *arguments], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.strip()


def snapshot() -> dict[str, Any]:
    """The commit checked out, how many files under src/ differ from it, and the digest."""
    try:
        commit: str | None = _git("rev-parse", "HEAD")
        changed: int | None = len(_git("status", "--porcelain", "--", "src").splitlines())
    except (OSError, subprocess.CalledProcessError):
        commit, changed = None, None
    return {"commit": commit, "src_files_changed": changed, "src_digest": digest()}
