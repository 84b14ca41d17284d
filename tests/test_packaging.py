"""The sdist and the wheel build, pass `twine check --strict` and hold what they should."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

import fastapi_password_reset

ROOT = Path(__file__).resolve().parent.parent
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
SDIST_NAME = f"fastapi_password_reset-{VERSION}"
DIST_INFO = f"fastapi_password_reset-{VERSION}.dist-info"


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build both distributions once, from this tree, with the venv's hatchling."""
    outdir = tmp_path_factory.mktemp("dist")
    # The `build` dependency group installs hatchling: no isolated environment to download.
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(outdir), str(ROOT)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return outdir


def sdist_members(dist: Path) -> list[str]:
    """The sdist's file names, relative to its top directory."""
    with tarfile.open(dist / f"{SDIST_NAME}.tar.gz") as archive:
        names = [member.name for member in archive.getmembers() if member.isfile()]
    assert all(name.startswith(f"{SDIST_NAME}/") for name in names)
    return [name.removeprefix(f"{SDIST_NAME}/") for name in names]


def wheel_members(dist: Path) -> list[str]:
    """The wheel's file names."""
    with zipfile.ZipFile(dist / f"{SDIST_NAME}-py3-none-any.whl") as archive:
        return archive.namelist()


def test_twine_check_strict_passes_on_both(dist: Path) -> None:
    """`twine check --strict` accepts the sdist and the wheel (metadata, README rendering)."""
    twine = shutil.which("twine", path=str(Path(sys.executable).parent)) or "twine"
    files = sorted(str(path) for path in dist.iterdir())
    assert len(files) == 2, files
    result = subprocess.run(
        [twine, "check", "--strict", *files], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2, result.stdout


def test_the_sdist_holds_sources_tests_and_docs_without_leftovers(dist: Path) -> None:
    """Sources, tests, docs, README and LICENSE; no benchmarks, results, site or venvs."""
    names = sdist_members(dist)
    for required in [
        "pyproject.toml", "README.md", "LICENSE", "mkdocs.yml", "PKG-INFO",
        "src/fastapi_password_reset/__init__.py", "src/fastapi_password_reset/py.typed",
        "tests/conftest.py", "docs/index.md",
    ]:  # fmt: skip
        assert required in names, required
    assert not [n for n in names if n.startswith("benchmarks/")]
    assert not [n for n in names if n.endswith(".json")]
    leftovers = ("site/", ".venv", "dist/", "build/", ".git/", ".mypy_cache/", ".ruff_cache/")
    assert not [n for n in names if n.startswith(leftovers)]
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".db"))]


def test_the_wheel_holds_only_the_package_and_its_metadata(dist: Path) -> None:
    """Every file is the package's own or its .dist-info's; LICENSE is among the latter."""
    names = wheel_members(dist)
    strays = [n for n in names if not n.startswith(("fastapi_password_reset/", f"{DIST_INFO}/"))]
    assert strays == []
    assert "fastapi_password_reset/py.typed" in names
    assert f"{DIST_INFO}/licenses/LICENSE" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_the_metadata_version_is_the_packages_version(dist: Path) -> None:
    """The wheel's and the sdist's Version is `fastapi_password_reset.__version__`."""
    with zipfile.ZipFile(dist / f"{SDIST_NAME}-py3-none-any.whl") as archive:
        wheel_metadata = Parser().parsestr(archive.read(f"{DIST_INFO}/METADATA").decode())
    with tarfile.open(dist / f"{SDIST_NAME}.tar.gz") as archive:
        pkg_info = archive.extractfile(f"{SDIST_NAME}/PKG-INFO")
        assert pkg_info is not None
        sdist_metadata = Parser().parsestr(pkg_info.read().decode())
    assert wheel_metadata["Version"] == sdist_metadata["Version"] == VERSION
    assert fastapi_password_reset.__version__ == VERSION
    assert wheel_metadata["License-Expression"] == "MIT"
    assert wheel_metadata.get_all("License-File") == ["LICENSE"]


def test_the_license_is_mit_with_the_contributors_copyright() -> None:
    """LICENSE is the MIT licence pyproject.toml names, held by the project's contributors."""
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License")
    assert "fastapi-password-reset contributors" in text


def test_the_version_is_written_only_in_pyproject() -> None:
    """No literal version in the package's sources: `__version__` comes from the metadata."""
    for path in (ROOT / "src").rglob("*.py"):
        assert f'"{VERSION}"' not in path.read_text(), path


def test_published_extras_are_for_users_and_tools_are_dependency_groups() -> None:
    """Extras are what users need; pytest, ruff, mypy, playwright... live in PEP 735 groups."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extras = pyproject["project"]["optional-dependencies"]
    assert set(extras) == {"redis", "sqlalchemy", "sqlite", "postgresql", "fastapi-users", "demo"}
    assert extras["sqlalchemy"] == ["sqlalchemy[asyncio]>=2.0"]
    groups = pyproject["dependency-groups"]
    assert {"test", "lint", "docs", "build", "dev", "bench"} <= set(groups)
    published = " ".join(" ".join(requirements) for requirements in extras.values())
    for tool in ["pytest", "ruff", "mypy", "playwright", "mkdocs", "twine", "httpx"]:
        assert tool not in published, tool


def test_the_install_docs_name_the_wheel_that_builds(dist: Path) -> None:
    """The wheel file README.md and docs/index.md tell to install is the one `build` makes."""
    [wheel] = [path.name for path in dist.glob("*.whl")]
    for page in [ROOT / "README.md", ROOT / "docs" / "index.md"]:
        named = set(re.findall(r"fastapi_password_reset-[^\s'\[\]]+\.whl", page.read_text()))
        assert named == {wheel}, page
