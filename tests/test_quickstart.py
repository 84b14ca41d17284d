"""docs/quickstart.md, run as a person would: its app under uvicorn, its curl calls in a shell."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SECRET
from tests.doc_programs import ROOT, python_blocks
from tests.servers import free_port, port_open, wait_until

PAGE = ROOT / "docs" / "quickstart.md"
LINK = re.compile(r"Reset link for king\.arthur@camelot\.bt: \S+#token=(\S+)")


def shell_commands(page: Path) -> list[tuple[str, int]]:
    """Each curl call of the page, with the status its trailing comment promises."""
    commands: list[tuple[str, int]] = []
    for block in re.findall(r"```bash\n(.*?)```", page.read_text(), re.S):
        for command in block.replace("\\\n", " ").splitlines():
            if command.startswith("curl "):
                code, _, expected = command.partition("#")
                commands.append((code.strip(), int(expected.split()[0].rstrip(","))))
    return commands


def test_the_quickstart_runs_from_a_shell(tmp_path: Path) -> None:
    """Register, forgot (the console shows the link), reset, reuse refused, log-in: as written."""
    (tmp_path / "app.py").write_text(python_blocks(PAGE)[0])
    port = free_port()
    log = tmp_path / "uvicorn.log"
    env = {**os.environ, "SECRET": SECRET}
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app:app", "--port", str(port)],
            cwd=tmp_path, env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_until(lambda: port_open(port), 20, "the quickstart app")
        commands = shell_commands(PAGE)
        assert len(commands) == 5
        for command, expected in commands:
            if "$TOKEN" in command and "TOKEN" not in env:
                # The mail is sent after the 202: it reaches the console a moment later.
                wait_until(lambda: LINK.search(log.read_text()) is not None, 10, "the link")
                found = LINK.search(log.read_text())
                assert found is not None
                env["TOKEN"] = found[1]
            result = subprocess.run(
                ["bash", "-c", command.replace("localhost:8000", f"127.0.0.1:{port}")],
                env=env, capture_output=True, text=True, timeout=30, check=True,
            )  # fmt: skip
            status = int(result.stdout.split()[1])
            assert status == expected, (command, result.stdout)
    finally:
        server.terminate()
        server.wait(15)
    assert "king.arthur@camelot.bt has reset their password" in log.read_text()


@pytest.mark.parametrize("page", [PAGE, ROOT / "README.md"], ids=["quickstart", "readme"])
def test_the_mail_hook_shows_the_link(page: Path) -> None:
    """The sample's hook prints the link with its token, so a reader can follow it."""
    assert "#token={token}" in page.read_text()
