"""The documentation's Python blocks, and its complete programs run as a reader runs them.

Every ```python block of README.md and docs/*.md carries a title, which mkdocs-material shows
above it: a file name (``title="app.py"``) for a complete program, saved under that name, or
``title="Excerpt — not a complete program"`` for anything else. A page's ```bash blocks are its
run instructions, replayed in order in a folder that holds only the page's programs:

- ``pip install …``: not run; what it names is this project or in the dependency groups the
  test environment was built from, so the environment already has it;
- ``NAME=value`` and ``export NAME=value``: evaluated by bash; a value ``'paste the token
  here'`` (or ``code``, …) is what the server last printed after ``token=`` or ``token …:``
  (the hook's mail), as a reader copies it from the console;
- ``uvicorn app:app``: started on a free port, which the curl lines are rewritten to use;
- ``curl -i …  # 201, …``: run by bash; the answer's status is the one the comment says;
- ``pytest`` and ``python <program>.py …``: run by bash, and must succeed.

Other lines (the package's command line, ``make``) are not run here: other tests cover them.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.servers import free_port, port_open, wait_until

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
# Its programs need fastapi-users: tests/contrib/test_docs_page.py runs them where it is.
FASTAPI_USERS_PAGE = ROOT / "docs" / "fastapi-users.md"

EXCERPT = "Excerpt — not a complete program"
PROGRAM_NAME = re.compile(r"[A-Za-z_][\w-]*\.py")
PYTHON_FENCE = re.compile(r"^```python(?P<info>[^\n]*)\n(?P<code>.*?)^```", re.S | re.M)
BASH_FENCE = re.compile(r"^```bash\n(?P<code>.*?)^```", re.S | re.M)
TITLE = re.compile(r'\btitle="(?P<title>[^"]*)"')
ASSIGNMENT = re.compile(
    r"(?:export\s+)?(?P<name>[A-Za-z_]\w*)=(?P<value>'[^']*'|\"[^\"]*\"|\$\(.*\)|[^\s'\"]*)"
)
PASTED = re.compile(r"'paste the (?P<what>\w+) here'")
# Where the page's server listens, and its Redis: rewritten to the test's own.
# What the programs read from the environment: only the page's own lines set them.
PAGE_VARIABLES = ("SECRET", "REDIS_URL")
APP_ADDRESS = re.compile(r"\b(?:localhost|127\.0\.0\.1):8000\b")
REDIS_ADDRESS = re.compile(r"\b(?:localhost|127\.0\.0\.1):6379\b")


@dataclass(frozen=True)
class Block:
    """One ```python block: its title and its code."""

    title: str | None
    code: str
    position: int  # where the fence starts in the page's text

    @property
    def is_program(self) -> bool:
        return self.title is not None and PROGRAM_NAME.fullmatch(self.title) is not None


def blocks(page: Path) -> list[Block]:
    """The page's Python blocks, in order."""
    found = []
    for fence in PYTHON_FENCE.finditer(page.read_text()):
        title = TITLE.search(fence["info"])
        found.append(Block(title["title"] if title else None, fence["code"], fence.start()))
    return found


def python_blocks(page: Path) -> list[str]:
    """The code of the page's Python blocks, in order."""
    return [block.code for block in blocks(page)]


def programs(page: Path) -> dict[str, str]:
    """The page's complete programs, by file name."""
    return {block.title: block.code for block in blocks(page) if block.title and block.is_program}


def program_pages() -> list[Path]:
    return [page for page in PAGES if programs(page)]


def run_in_order(page: Path) -> dict[str, Any]:
    """The page's blocks run top to bottom in one namespace, as a reader pastes excerpts into
    an application like the quickstart's, whose names (``UserDB``, ``fastapi_users``) they use.

    A program's ``if __name__ == "__main__":`` part does not run. ``SECRET`` (and
    ``REDIS_URL``, for a page that uses Redis) must be in the environment.
    """
    namespace: dict[str, Any] = {"__name__": f"docs_{page.stem}"}
    quickstart = ROOT / "docs" / "quickstart.md"
    sources = [(quickstart, programs(quickstart)["app.py"])]
    sources += [(page, block.code) for block in blocks(page)]
    for source, code in sources:
        exec(compile(code, str(source), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace


def shell_lines(page: Path) -> list[str]:
    """The lines of the page's bash blocks, continuation lines joined, blank ones left out."""
    lines = []
    for fence in BASH_FENCE.finditer(page.read_text()):
        for line in fence["code"].replace("\\\n", " ").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                lines.append(line.strip())
    return lines


def split_comment(line: str) -> tuple[str, str]:
    """A shell line and its trailing comment (the text after the last `` #``)."""
    command, separator, comment = line.rpartition(" #")
    return (command.strip(), comment.strip()) if separator else (line, "")


def dependency_group(name: str, groups: dict[str, list[str | dict[str, str]]]) -> set[str]:
    """The package names a PEP 735 group of pyproject.toml holds, its included groups too."""
    names: set[str] = set()
    for entry in groups[name]:
        if isinstance(entry, dict):
            names |= dependency_group(entry["include-group"], groups)
        else:
            names.add(package_name(entry))
    return names


def package_name(requirement: str) -> str:
    found = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert found, requirement
    return re.sub(r"[-_.]+", "-", found[0]).lower()


def check_installable(line: str, groups: tuple[str, ...]) -> None:
    """What a ``pip install`` line names is this project (with extras it has) or a package
    of the dependency groups the test environment was built from."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    installed: set[str] = set()
    for group in groups:
        installed |= dependency_group(group, pyproject["dependency-groups"])
    arguments = shlex.split(line.split("&&")[0])[2:]
    for argument in arguments:
        if argument.startswith("-"):
            continue
        extras = re.search(r"\[(.*)\]$", argument)
        if argument.split("[")[0] == "." or argument.startswith("dist/"):
            for extra in extras[1].split(",") if extras else []:
                assert extra in pyproject["project"]["optional-dependencies"], line
        else:
            assert package_name(argument) in installed, (
                f"{line!r} installs {argument}, which the dependency groups {groups} of "
                "pyproject.toml do not hold: the tests would not run what the page says"
            )


@dataclass
class PageRun:
    """A page's programs in a folder of their own, its commands replayed against them."""

    page: Path
    folder: Path
    redis_url: str | None
    groups: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    server: subprocess.Popen[bytes] | None = None
    done: list[str] = field(default_factory=list)

    @property
    def log(self) -> Path:
        return self.folder.parent / f"{self.folder.name}.log"

    def output(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def run(self) -> None:
        for name, code in programs(self.page).items():
            (self.folder / name).write_text(code)
        # A reader's shell, with this environment's tools on PATH; a print reaches the
        # console at once, as on a terminal.
        venv = str(Path(sys.executable).parent)
        self.env = {name: value for name, value in os.environ.items() if name not in PAGE_VARIABLES}
        self.env |= {"PATH": f"{venv}{os.pathsep}{os.environ['PATH']}", "PYTHONUNBUFFERED": "1"}
        try:
            for line in shell_lines(self.page):
                self.replay(line)
        finally:
            if self.server is not None:
                self.server.terminate()
                try:
                    self.server.wait(15)
                except subprocess.TimeoutExpired:
                    self.server.kill()
                    self.server.wait()

    def rewrite(self, command: str) -> str:
        command = APP_ADDRESS.sub(f"127.0.0.1:{self.port}", command)
        if REDIS_ADDRESS.search(command):
            assert self.redis_url, f"{self.page.name} needs Redis"
            address = self.redis_url.split("//")[1].split("/")[0]
            command = REDIS_ADDRESS.sub(address, command)
        return command

    def replay(self, line: str) -> None:
        command, comment = split_comment(line)
        command = self.rewrite(command)
        words = command.split()
        assignment = ASSIGNMENT.fullmatch(command)
        if words[:2] == ["pip", "install"]:
            check_installable(command, self.groups)
        elif assignment:
            self.assign(assignment["name"], command)
        elif words[0] == "uvicorn":
            self.start(command)
        elif words[0] == "curl":
            self.request(command, comment)
        elif words[0] == "pytest" or words[:2] in [
            ["python", name] for name in programs(self.page)
        ]:
            self.succeed(command, comment)
        else:
            return  # not a run instruction of the programs (the CLI, make, a build)
        self.done.append(command)

    def bash(self, command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", command], cwd=self.folder, env=self.env,
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip

    def assign(self, name: str, command: str) -> None:
        pasted = PASTED.search(command)
        if pasted:
            self.env[name] = self.printed(pasted["what"])
            return
        result = self.bash(f'{command}\nprintf %s "${name}"')
        assert result.returncode == 0, (command, result.stderr)
        self.env[name] = result.stdout

    def printed(self, what: str) -> str:
        """The last value the server printed after ``what=`` or ``what …:``, waited for: the
        hook runs after the answer."""
        value = re.compile(rf"\b{what}\b[^:=\n]*[:=]\s*(\S+)", re.I)
        wait_until(lambda: value.search(self.output()) is not None, 10, f"the {what}")
        printed: list[str] = value.findall(self.output())
        return printed[-1]

    def start(self, command: str) -> None:
        assert self.server is None, f"{self.page.name} starts two servers"
        arguments = [*shlex.split(command), "--port", str(self.port)]
        with self.log.open("wb") as log:
            self.server = subprocess.Popen(
                arguments, cwd=self.folder, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        server = self.server
        wait_until(lambda: port_open(self.port) or server.poll() is not None, 30, command)
        assert server.poll() is None, f"{command} stopped:\n{self.output()}"

    def request(self, command: str, comment: str) -> None:
        expected = re.match(r"\d{3}\b", comment)
        assert expected, f"{command!r}: the comment does not start with the expected status"
        assert " -i " in f" {command} ", f"{command!r}: without -i the reader sees no status"
        result = self.bash(command, timeout=30)
        assert result.returncode == 0, (command, result.stderr)
        status = result.stdout.split()[1] if result.stdout else "no answer"
        assert status == expected[0], (command, result.stdout, self.output())

    def succeed(self, command: str, comment: str) -> None:
        result = self.bash(command, timeout=300)
        assert result.returncode == 0, (command, result.stdout[-4000:], result.stderr[-4000:])
        # What the page says pytest reports, such as "2 passed", is what it reports.
        summary = re.match(r"\d+ passed", comment)
        assert summary is None or summary[0] in result.stdout, (comment, result.stdout[-4000:])


def run_page(
    page: Path, folder: Path, *, redis_url: str | None, groups: tuple[str, ...]
) -> PageRun:
    """Save ``page``'s programs in the empty ``folder`` and replay its commands there."""
    run = PageRun(page, folder, redis_url, groups)
    run.run()
    return run
