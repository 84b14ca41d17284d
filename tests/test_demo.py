"""`python -m demo` (what `make demo` runs) serves the whole flow over real HTTP."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from demo.favicon import favicon_ico
from demo.settings import describe_interval, env_port, min_interval_seconds, redact_url
from tests.redis_servers import RedisServer
from tests.servers import free_port, port_open, wait_until

ROOT = Path(__file__).resolve().parent.parent
PAGES = ("/", "/forgot", "/outbox", "/reset", "/reset-code", "/signin")
REDIS_PASSWORD = "redis-pw-Zq7xK2vW"
MAIL_WORDING = "If you did not ask for this, ignore this mail; your password is unchanged."
CODE_WORDING = re.compile(
    r"Your code is (\d{4} \d{4}) \(it works for 15 minutes, and for five tries\)\."
)
CODE_ROUTES = ("/auth/code/forgot-password", "/auth/code/reset-password",
               "/auth/code/reset-password/validate")  # fmt: skip


def demo_environment(settings: dict[str, str], database: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("REDIS_URL", "DEMO_TOKENS", "DEMO_PORT", "DEMO_HOST")
        and k != "DEMO_MIN_INTERVAL_SECONDS"
    }
    env.update(settings, PYTHONUNBUFFERED="1")
    env["DEMO_DATABASE_URL"] = f"sqlite+aiosqlite:///{database}"
    return env


class DemoServer:
    """``python -m demo --port P``; with ``port_flag=False`` the port goes in DEMO_PORT."""

    def __init__(
        self, port: int, settings: dict[str, str], database: Path, *, port_flag: bool = True
    ) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.output: list[str] = []
        self.mode = ""
        env = demo_environment(settings, database)
        command = [sys.executable, "-m", "demo"]
        if port_flag:
            command += ["--port", str(port)]
        else:
            env["DEMO_PORT"] = str(port)
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        self.reader.join(10)
        assert self.process.stdout is not None
        self.process.stdout.close()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    @property
    def console(self) -> str:
        return "".join(self.output)

    def mails_to(self, email: str) -> list[str]:
        """The mails to ``email`` printed on the console, oldest first."""
        pattern = rf"--- OUTBOX: mail to {re.escape(email)} ---\n(.*?)--- end of mail ---"
        return re.findall(pattern, self.console, re.S)

    def mail_token(self, email: str) -> str:
        """The token of the newest reset mail to ``email`` printed on the console."""
        tokens = [
            found.group(1)
            for mail in self.mails_to(email)
            if mail.startswith("Reset your password")
            and (found := re.search(r"#token=([\w.-]+)", mail))
        ]
        return tokens[-1] if tokens else ""

    def mail_code(self, email: str) -> str:
        """The code of the newest code mail to ``email`` on the console, as typed: 8 digits."""
        codes = [
            found.group(1).replace(" ", "")
            for mail in self.mails_to(email)
            if mail.startswith("Your password reset code") and (found := CODE_WORDING.search(mail))
        ]
        return codes[-1] if codes else ""


def start_demo(settings: dict[str, str], database: Path, **options: bool) -> DemoServer:
    server = DemoServer(free_port(), settings, database, **options)
    try:
        wait_until(lambda: port_open(server.port), 30, "the demo server")
    except TimeoutError:
        server.stop()
        raise
    return server


@pytest.fixture(scope="module")
def password_redis() -> Iterator[RedisServer]:
    """A redis-server of the module's own that asks for a password."""
    server = RedisServer(Path(tempfile.mkdtemp(prefix="fpr-demo-redis-")))
    server.start()
    try:
        assert server.cli("CONFIG", "SET", "requirepass", REDIS_PASSWORD).strip() == "OK"
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module", params=["embedded-redis", "redis-url", "jwt"])
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DemoServer]:
    """The demo as `make demo` starts it, in each of its token modes.

    In "redis-url" mode REDIS_URL holds a password, which nothing may show.
    """
    settings: dict[str, str] = {}
    if request.param == "redis-url":
        redis: RedisServer = request.getfixturevalue("password_redis")
        settings["REDIS_URL"] = f"redis://:{REDIS_PASSWORD}@127.0.0.1:{redis.port}/0"
    elif request.param == "jwt":
        settings["DEMO_TOKENS"] = "jwt"
    server = start_demo(settings, tmp_path_factory.mktemp("demo") / "users.db")
    server.mode = request.param
    try:
        yield server
    finally:
        server.stop()


def register_and_forget(client: httpx.Client, demo: DemoServer, email: str) -> str:
    """Register ``email``, ask for a reset, and return the token of the mail."""
    registered = client.post("/auth/register", json={"email": email, "password": "first pass"})
    assert registered.status_code == 201
    assert client.post("/auth/forgot-password", json={"email": email}).status_code == 202
    wait_until(lambda: bool(demo.mail_token(email)), 10, "the reset mail")
    return demo.mail_token(email)


def register_and_ask_for_a_code(client: httpx.Client, demo: DemoServer, email: str) -> str:
    """Register ``email``, ask the code router for a code, and return the code of the mail."""
    registered = client.post("/auth/register", json={"email": email, "password": "first pass"})
    assert registered.status_code == 201
    asked = client.post("/auth/code/forgot-password", json={"email": email})
    assert (asked.status_code, asked.json()) == (202, None)
    wait_until(lambda: bool(demo.mail_code(email)), 10, "the code mail")
    return demo.mail_code(email)


def test_the_demo_serves_its_api_docs(demo: DemoServer) -> None:
    """/ is the sign-up page, /docs the API documentation listing the reset routes."""
    home = httpx.get(demo.url + "/")
    assert home.status_code == 200
    assert "Create an account" in home.text
    assert "swagger" in httpx.get(demo.url + "/docs").text.lower()
    schema = httpx.get(demo.url + "/openapi.json").json()
    assert {"/auth/forgot-password", "/auth/reset-password", "/auth/register"} <= set(
        schema["paths"]
    )
    assert set(CODE_ROUTES) <= set(schema["paths"])
    code_reset = schema["paths"]["/auth/code/reset-password"]["post"]
    assert code_reset["tags"] == ["reset by code"]
    expected_store = {
        "embedded-redis": "an in-process Redis",
        "redis-url": "Redis at redis://:***@127.0.0.1:",
        "jwt": "stateless JWT tokens",
    }
    assert expected_store[demo.mode] in schema["info"]["description"]
    assert expected_store[demo.mode] in demo.console
    # Codes live in Redis in every mode: the demo's own, or an in-process one beside JWTs.
    code_store = "Redis at redis://:***@" if demo.mode == "redis-url" else "an in-process Redis"
    assert f"Reset codes (under /auth/code): {code_store}" in schema["info"]["description"]
    assert f'Reset codes ("Send me a code instead", /auth/code): {code_store}' in demo.console


def test_the_api_docs_load_nothing_from_other_hosts(demo: DemoServer) -> None:
    """Swagger UI comes from the installed fastapi-offline package: no CDN."""
    html = httpx.get(demo.url + "/docs").text
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(asset.endswith(".js") for asset in assets)
    for asset in assets:
        assert asset.startswith("/"), f"/docs loads {asset} from another host"
        response = httpx.get(demo.url + asset)
        assert response.status_code == 200, asset
        assert response.content
    assert "cdn." not in html
    assert "fonts.googleapis" not in html
    assert '"validatorUrl": null' in html  # no badge fetched from validator.swagger.io
    # ReDoc would fetch its vendor's logo from a CDN: the demo has no /redoc.
    assert httpx.get(demo.url + "/redoc").status_code == 404


def test_the_favicon_is_served(demo: DemoServer) -> None:
    """/favicon.ico is a real icon (no 404 in any browser's console); pages link to it."""
    icon = httpx.get(demo.url + "/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/x-icon"
    assert icon.content == favicon_ico()
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # ICO header: reserved 0, type 1 (icon)
    assert icon.content[22:30] == b"\x89PNG\r\n\x1a\n"  # its one image, a PNG
    assert httpx.head(demo.url + "/favicon.ico").status_code == 200
    for path in PAGES:
        assert '<link rel="icon" href="/favicon.ico">' in httpx.get(demo.url + path).text
    assert 'href="/favicon.ico"' in httpx.get(demo.url + "/docs").text


def test_a_person_can_reset_a_password_through_the_demo(demo: DemoServer) -> None:
    """Register, ask for a reset, read the console outbox, reset, log in with the new password."""
    email = "person@example.com"
    with httpx.Client(base_url=demo.url, timeout=10) as client:
        token = register_and_forget(client, demo, email)
        assert token.count(".") == (2 if demo.mode == "jwt" else 1)
        reset = client.post(
            "/auth/reset-password", json={"token": token, "password": "second pass"}
        )
        assert (reset.status_code, reset.json()) == (200, None)
        old = client.post("/auth/jwt/login", data={"username": email, "password": "first pass"})
        assert old.status_code == 400
        new = client.post("/auth/jwt/login", data={"username": email, "password": "second pass"})
        assert new.status_code == 200
        bearer = {"Authorization": "Bearer " + new.json()["access_token"]}
        assert client.get("/users/me", headers=bearer).json()["email"] == email


def test_a_person_can_reset_a_password_with_a_code(demo: DemoServer) -> None:
    """ "Send me a code instead": the code mail (no link) arrives, the code router checks it
    without using it, refuses a wrong one, and resets the password with the right one."""
    email = "coder@example.com"
    with httpx.Client(base_url=demo.url, timeout=10) as client:
        code = register_and_ask_for_a_code(client, demo, email)
        assert re.fullmatch(r"\d{8}", code)
        [mail] = demo.mails_to(email)
        assert "#token=" not in mail
        assert "http" not in mail  # no link at all: nothing for a mail scanner to open
        assert MAIL_WORDING in mail
        outbox = client.get("/outbox").text
        [article] = re.findall(rf"<article><p><strong>To:</strong> {email} .*?</article>", outbox)
        assert "Your password reset code" in article
        assert "<a " not in article

        def validate(body: dict[str, str]) -> tuple[int, object]:
            answer = client.post("/auth/code/reset-password/validate", json=body)
            return answer.status_code, answer.json()

        bad = (400, {"detail": "RESET_PASSWORD_BAD_TOKEN"})
        assert validate({"email": email, "token": code}) == (200, None)
        assert validate({"email": email, "token": code}) == (200, None)  # nothing used up
        wrong = "0" * 8 if code != "0" * 8 else "1" * 8
        assert validate({"email": email, "token": wrong}) == bad
        assert validate({"email": "nobody@example.com", "token": code}) == bad
        assert (
            client.post("/auth/code/reset-password/validate", json={"token": code}).status_code
            == 422
        )

        def reset(body: dict[str, str]) -> tuple[int, object]:
            answer = client.post("/auth/code/reset-password", json=body)
            return answer.status_code, answer.json()

        assert reset({"email": email, "token": wrong, "password": "second pass"}) == bad
        missing = client.post(
            "/auth/code/reset-password", json={"token": code, "password": "x" * 9}
        )
        assert missing.status_code == 422
        # The code does nothing at the link router, nor a link token at the code router.
        assert (
            client.post(
                "/auth/reset-password", json={"token": code, "password": "second pass"}
            ).status_code
            == 400
        )
        refused = reset({"email": email, "token": code, "password": "coder's pass"})
        assert refused[0] == 400  # the policy refuses it; the code still works
        assert reset({"email": email, "token": code, "password": "second pass"}) == (200, None)
        assert reset({"email": email, "token": code, "password": "third pass"}) == bad  # used

        old = client.post("/auth/jwt/login", data={"username": email, "password": "first pass"})
        assert old.status_code == 400
        new = client.post("/auth/jwt/login", data={"username": email, "password": "second pass"})
        assert new.status_code == 200
        wait_until(lambda: len(demo.mails_to(email)) == 2, 10, "the 'password changed' mail")
    assert "through a reset code." in demo.mails_to(email)[1]


def test_a_code_dies_at_its_fifth_wrong_try(demo: DemoServer) -> None:
    """As the mail and the page say: five wrong tries, then even the right code is refused."""
    email = "guesser@example.com"
    with httpx.Client(base_url=demo.url, timeout=10) as client:
        code = register_and_ask_for_a_code(client, demo, email)
        wrong = [f"{n:08d}" for n in range(1, 7) if f"{n:08d}" != code][:5]
        for attempt in wrong[:4]:
            answer = client.post(
                "/auth/code/reset-password/validate", json={"email": email, "token": attempt}
            )
            assert answer.status_code == 400
        body = {"email": email, "token": code}
        assert client.post("/auth/code/reset-password/validate", json=body).status_code == 200
        fifth = {"email": email, "token": wrong[4], "password": "second pass"}
        assert client.post("/auth/code/reset-password", json=fifth).status_code == 400
        right = {"email": email, "token": code, "password": "second pass"}
        assert client.post("/auth/code/reset-password", json=right).status_code == 400


def test_links_and_codes_are_throttled_apart_and_a_reset_kills_the_other(
    demo: DemoServer,
) -> None:
    """A code may follow a link at once (each has its own throttle); a reset by either kills
    the other, since the account changed."""
    email = "both-ways@example.com"
    with httpx.Client(base_url=demo.url, timeout=10) as client:
        token = register_and_forget(client, demo, email)
        assert client.post("/auth/code/forgot-password", json={"email": email}).status_code == 202
        wait_until(lambda: bool(demo.mail_code(email)), 10, "the code mail")
        code = demo.mail_code(email)
        # Asked again at once, for a code: the same answer, and no new mail.
        assert client.post("/auth/code/forgot-password", json={"email": email}).status_code == 202
        client.post("/auth/code/forgot-password", json={"email": "nobody-both@example.com"})
        wait_until(lambda: bool(demo.mails_to("nobody-both@example.com")), 10, "the mail")
        time.sleep(0.5)
        assert len(demo.mails_to(email)) == 2
        body = {"email": email, "token": code, "password": "second pass"}
        assert client.post("/auth/code/reset-password", json=body).status_code == 200
        late = client.post("/auth/reset-password", json={"token": token, "password": "third pass"})
        assert (late.status_code, late.json()) == (400, {"detail": "RESET_PASSWORD_BAD_TOKEN"})

        # And the other way: a reset through the link kills the code.
        other = "link-first@example.com"
        code = register_and_ask_for_a_code(client, demo, other)
        assert client.post("/auth/forgot-password", json={"email": other}).status_code == 202
        wait_until(lambda: bool(demo.mail_token(other)), 10, "the reset mail")
        body = {"token": demo.mail_token(other), "password": "second pass"}
        assert client.post("/auth/reset-password", json=body).status_code == 200
        body = {"email": other, "token": code, "password": "third pass"}
        late = client.post("/auth/code/reset-password", json=body)
        assert (late.status_code, late.json()) == (400, {"detail": "RESET_PASSWORD_BAD_TOKEN"})


def test_the_redis_password_is_never_shown(demo: DemoServer) -> None:
    """Not on the console, not in /openapi.json, /docs or any page: the URL shows ***."""
    with httpx.Client(base_url=demo.url, timeout=10) as client:
        email = "secret-keeper@example.com"
        token = register_and_forget(client, demo, email)
        client.post("/auth/reset-password", json={"token": token, "password": "second pass"})
        wait_until(lambda: len(demo.mails_to(email)) == 2, 10, "the 'password changed' mail")
        shown = [client.get(path).text for path in (*PAGES, "/docs", "/openapi.json")]
    for text in (*shown, demo.console):
        assert REDIS_PASSWORD not in text
    if demo.mode == "redis-url":
        assert re.search(
            r"reset tokens: Redis at redis://:\*\*\*@127\.0\.0\.1:\d+/0\)", demo.console
        )


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw@host:6379/0", "redis://:***@host:6379/0"),
        ("redis://user:pw@host:6379/2", "redis://user:***@host:6379/2"),
        ("rediss://user:p%40ss@host/0", "rediss://user:***@host/0"),
        ("redis://:p@ss@host:6379", "redis://:***@host:6379"),
        ("redis://host:6379/0", "redis://host:6379/0"),
        ("redis://user@host:6379/0", "redis://user@host:6379/0"),
        ("redis://host/0?password=pw&ssl_cert_reqs=none", "redis://host/0?password=***&ssl_cert_reqs=none"),
        ("unix:///run/redis.sock?db=1&password=pw", "unix:///run/redis.sock?db=1&password=***"),
    ],
)  # fmt: skip
def test_urls_are_shown_without_their_password(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_make_demo_takes_a_port() -> None:
    """`make demo PORT=8123` passes --port 8123; plain `make demo` lets the demo choose (8000)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "MAKEFLAGS", "MFLAGS")}

    def recipe(*arguments: str) -> str:
        dry_run = subprocess.run(
            ["make", "--dry-run", "demo", *arguments],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        [line] = [line for line in dry_run.splitlines() if "-m demo" in line]
        return line.strip()

    assert recipe("PORT=8123").endswith("python -m demo --port 8123")
    assert recipe().endswith("python -m demo")
    assert env_port({}) == 8000
    assert env_port({"DEMO_PORT": "8123"}) == 8123


def test_the_port_can_come_from_demo_port(tmp_path: Path) -> None:
    """DEMO_PORT=P python -m demo listens on P, and says so."""
    server = start_demo({}, tmp_path / "users.db", port_flag=False)
    try:
        assert httpx.get(server.url + "/").status_code == 200
        wait_until(lambda: f"Demo on {server.url}/" in server.console, 10, "the banner")
    finally:
        server.stop()


def run_demo(arguments: list[str], settings: dict[str, str], tmp_path: Path) -> tuple[int, str]:
    finished = subprocess.run(
        [sys.executable, "-m", "demo", *arguments],
        cwd=ROOT,
        env=demo_environment(settings, tmp_path / "users.db"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    return finished.returncode, finished.stdout + finished.stderr


def test_a_taken_port_or_a_bad_setting_is_explained(tmp_path: Path) -> None:
    """A port in use names the ways to choose another; bad values are refused by name."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, output = run_demo(["--port", str(port)], {}, tmp_path)
    assert status == 1
    assert f"Port {port} on 127.0.0.1 is taken" in output
    assert "make demo PORT=8123" in output
    assert "Traceback" not in output

    status, output = run_demo(["--port", "0"], {}, tmp_path)
    assert (status, "a port is between 1 and 65535, not 0" in output) == (2, True)
    status, output = run_demo([], {"DEMO_PORT": "eighty"}, tmp_path)
    assert (status, "not a port number: 'eighty'" in output) == (2, True)
    status, output = run_demo([], {"DEMO_MIN_INTERVAL_SECONDS": "soon"}, tmp_path)
    assert (status, "DEMO_MIN_INTERVAL_SECONDS is not a number" in output) == (2, True)


def test_the_throttle_is_stated_and_applied(demo: DemoServer) -> None:
    """One reset mail per account per 10 s in the demo, as the forgot page says."""
    page = httpx.get(demo.url + "/forgot").text
    assert "at most one reset mail per account every 10 seconds" in page
    assert "the library&#x27;s default is one a minute" in page
    email = "twice@example.com"
    with httpx.Client(base_url=demo.url, timeout=10) as client:
        register_and_forget(client, demo, email)
        assert client.post("/auth/forgot-password", json={"email": email}).status_code == 202
        # A mail to an unknown address is sent after the second request's work has started.
        client.post("/auth/forgot-password", json={"email": "nobody-twice@example.com"})
        wait_until(lambda: bool(demo.mails_to("nobody-twice@example.com")), 10, "the mail")
        time.sleep(0.5)
    assert len(demo.mails_to(email)) == 1


def test_interval_settings() -> None:
    assert min_interval_seconds({}) == 10
    assert min_interval_seconds({"DEMO_MIN_INTERVAL_SECONDS": "0"}) == 0
    assert describe_interval(0) == "The demo sends a reset mail every time you ask."
    assert "every 1 second," in describe_interval(1)
    with pytest.raises(ValueError, match="between 0 and 3600"):
        min_interval_seconds({"DEMO_MIN_INTERVAL_SECONDS": "-1"})


def test_mails_are_worded_for_the_person_who_did_not_ask(demo: DemoServer) -> None:
    """The reset mail says the password is unchanged; the others say what to do."""
    email = "wording@example.com"
    with httpx.Client(base_url=demo.url, timeout=10) as client:
        token = register_and_forget(client, demo, email)
        client.post("/auth/reset-password", json={"token": token, "password": "second pass"})
        client.post("/auth/forgot-password", json={"email": "unknown@example.com"})
        wait_until(lambda: len(demo.mails_to(email)) == 2, 10, "the 'password changed' mail")
        wait_until(lambda: bool(demo.mails_to("unknown@example.com")), 10, "the unknown mail")
        outbox = client.get("/outbox").text
    reset_mail, changed_mail = demo.mails_to(email)
    assert MAIL_WORDING in reset_mail
    assert "it works once, within an hour" in reset_mail
    assert "Your password was changed" in changed_mail
    assert f"If you did not do this, ask for a new reset link at {demo.url}/forgot" in changed_mail
    [unknown_mail] = demo.mails_to("unknown@example.com")
    assert "no account uses it" in unknown_mail
    assert "#token=" not in unknown_mail
    assert "wasn't you" not in demo.console
    assert MAIL_WORDING in outbox


def test_outbox_times_carry_their_zone(demo: DemoServer) -> None:
    email = "clock@example.com"
    with httpx.Client(base_url=demo.url, timeout=10) as client:
        register_and_forget(client, demo, email)
        outbox = client.get("/outbox").text
    stamps = re.findall(r'<time datetime="([^"]+)">([^<]+)</time>', outbox)
    assert stamps
    for machine, person in stamps:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", machine)
        assert person == machine[:10] + " " + machine[11:19] + " UTC"
    assert "(times in UTC)" in outbox
    assert re.search(r"\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\n", demo.mails_to(email)[0])


def test_pages_mark_the_current_link_and_state_the_password_rule(demo: DemoServer) -> None:
    """aria-current on the page's own nav link; the rule shown before any submit."""
    nav_links = {"/": "Sign up", "/forgot": "Forgot password", "/outbox": "Outbox",
                 "/signin": "Sign in"}  # fmt: skip
    rule = "At least 8 characters, without the part of your e-mail address before the @."
    for path in PAGES:
        html = httpx.get(demo.url + path).text
        current = re.findall(r'<a href="([^"]+)" aria-current="page">([^<]+)</a>', html)
        expected = [(path, nav_links[path])] if path in nav_links else []
        assert current == expected, path
        has_new_password = 'autocomplete="new-password"' in html
        assert has_new_password == (path in ("/", "/reset", "/reset-code")), path
        if has_new_password:
            assert rule in html
            assert re.search(r'aria-describedby="([\w-]+)-password-rule \1-message"', html)
            assert 'minlength="8"' in html
    # The reset form stays hidden until the page has a token; the notices are ready. Where
    # the library has a route that checks a token, the page names it, to check its link.
    reset = httpx.get(demo.url + "/reset").text
    schema = httpx.get(demo.url + "/openapi.json").json()
    if "/auth/reset-password/validate" in schema["paths"]:
        form = (
            '<form id="reset" novalidate hidden data-validate-url="/auth/reset-password/validate">'
        )
    else:
        form = '<form id="reset" novalidate hidden>'
    assert form in reset
    assert "This page needs the link from a reset mail." in reset
    assert "This reset link is invalid, has expired or was already used." in reset


def test_the_code_page_asks_for_a_code_a_phone_can_fill(demo: DemoServer) -> None:
    """The forgot page offers a code; /reset-code has a labelled code field for the number
    pad and one-time-code autofill, described by its hint, and words a refusal up front."""
    forgot = httpx.get(demo.url + "/forgot").text
    assert re.search(
        r'<button type="submit" class="secondary" data-url="/auth/code/forgot-password" '
        r'data-sends="code">Send me a code instead</button>',
        forgot,
    )
    assert '<a href="/reset-code">Enter your code</a>' in forgot
    assert "links and codes count apart" in forgot
    page = httpx.get(demo.url + "/reset-code").text
    assert '<form id="reset-code" novalidate data-url="/auth/code/reset-password">' in page
    [code_field] = re.findall(r"<label>Code<input [^>]+>", page)
    for attribute in ('name="code"', 'inputmode="numeric"', 'autocomplete="one-time-code"',
                      "required", 'data-code-length="8"',
                      'aria-describedby="reset-code-code-hint reset-code-message"'):  # fmt: skip
        assert attribute in code_field
    assert "The 8 digits from the mail; it works for 15 minutes, and for five tries." in page
    assert re.search(r'<label>E-mail<input name="email" type="email" required', page)
    assert (
        '<template id="reset-code-refused">That code is wrong, expired or used up; after five '
        'wrong tries it stops working — <a href="/forgot">ask for a new one</a>.</template>'
    ) in page


def test_users_survive_a_restart(tmp_path: Path) -> None:
    """The demo keeps users in SQLite: an account made before a restart signs in after it."""
    database = tmp_path / "users.db"
    credentials = {"email": "survivor@example.com", "password": "long enough"}
    first = start_demo({}, database)
    try:
        assert httpx.post(first.url + "/auth/register", json=credentials).status_code == 201
    finally:
        first.stop()
    second = start_demo({}, database)
    try:
        login = httpx.post(
            second.url + "/auth/jwt/login",
            data={"username": credentials["email"], "password": credentials["password"]},
        )
        assert login.status_code == 200
    finally:
        second.stop()


def test_pages_send_strict_security_headers_and_logs_hold_no_token(demo: DemoServer) -> None:
    """Every page: strict CSP, no referrer; the token never reaches the access log."""
    for path in PAGES:
        response = httpx.get(demo.url + path)
        assert response.status_code == 200
        assert response.headers["referrer-policy"] == "no-referrer"
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert "<script>" not in response.text  # scripts are files, as the policy demands
    email = "headers@example.com"
    httpx.post(demo.url + "/auth/register", json={"email": email, "password": "long enough"})
    httpx.post(demo.url + "/auth/forgot-password", json={"email": email})
    wait_until(lambda: bool(demo.mail_token(email)), 10, "the reset mail")
    token = demo.mail_token(email)
    outbox = httpx.get(demo.url + "/outbox").text
    assert f'href="/reset#token={token}"' in outbox
    access_lines = [line for line in demo.output if '"GET ' in line or '"POST ' in line]
    assert access_lines
    assert not any(token in line for line in access_lines)


def test_the_demo_page_shows_every_screenshot_the_browser_test_takes() -> None:
    """docs/demo.md shows each docs/img/demo-*.png, and the browser test takes each of them."""
    page = (ROOT / "docs" / "demo.md").read_text()
    shown = set(re.findall(r"\(img/(demo-[\w-]+\.png)\)", page))
    kept = {path.name for path in (ROOT / "docs" / "img").glob("demo-*.png")}
    taken = set(
        re.findall(r'"(demo-[\w-]+\.png)"', (ROOT / "tests" / "test_demo_browser.py").read_text())
    )
    assert shown == kept == taken
