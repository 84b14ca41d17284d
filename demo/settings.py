"""The demo's settings and the rules its pages state, importable without side effects.

Environment variables (all optional):

- ``DEMO_PORT``, ``DEMO_HOST``: where ``python -m demo`` listens (8000, 127.0.0.1); its
  ``--port``/``--host`` options win over them, and ``make demo PORT=8123`` passes ``--port``.
- ``DEMO_MIN_INTERVAL_SECONDS``: at most one reset mail per user per interval (10; 0: none).
- ``REDIS_URL``, ``DEMO_TOKENS``, ``DEMO_SECRET``, ``DEMO_DATABASE_URL``, ``DEMO_PUBLIC_URL``:
  see `demo.app`.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qsl, urlencode, urlsplit

DEFAULT_PORT = 8000
DEFAULT_HOST = "127.0.0.1"

MIN_PASSWORD_LENGTH = 8
PASSWORD_RULE = (
    f"At least {MIN_PASSWORD_LENGTH} characters, without the part of your e-mail address "
    "before the @."
)

# "Send me a code instead": 8 digits, 15 minutes, five wrong tries (docs/codes.md).
CODE_LENGTH = 8
CODE_LIFETIME_SECONDS = 900
CODE_MAX_ATTEMPTS = 5
_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def number_in_words(count: int) -> str:
    """``five`` for 5; digits from 11 on."""
    return _NUMBERS[count] if 0 <= count < len(_NUMBERS) else str(count)


def describe_code_limits(
    lifetime_seconds: int = CODE_LIFETIME_SECONDS, max_attempts: int = CODE_MAX_ATTEMPTS
) -> str:
    """``it works for 15 minutes, and for five tries``: what the mail and the page say."""
    amount, unit = lifetime_seconds // 60, "minute"
    if lifetime_seconds % 60:
        amount, unit = lifetime_seconds, "second"
    lifetime = f"{amount} {unit}" + ("" if amount == 1 else "s")
    tries = f"{number_in_words(max_attempts)} " + ("try" if max_attempts == 1 else "tries")
    return f"it works for {lifetime}, and for {tries}"


def group_code(code: str) -> str:
    """``4821 3906``: a code as the mail shows it, in groups of four that are easy to copy."""
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4))


# The library's default is one reset mail per user per minute; the demo's visitors retry
# sooner than that, so it allows one every 10 seconds unless told otherwise.
DEFAULT_MIN_INTERVAL_SECONDS = 10.0

MASK = "***"
_SECRET_QUERY_KEYS = {"password", "pass", "passwd", "pwd", "secret", "token"}


def redact_url(url: str) -> str:
    """``url`` with its password, and any password given as a query value, replaced by ***.

    ``redis://user:pw@host:6379/0`` becomes ``redis://user:***@host:6379/0``; a URL that
    cannot be parsed is replaced whole, since it may hold a password in a form not read here.
    """
    if "://" not in url:
        return MASK if "@" in url or "?" in url else url
    try:
        parts = urlsplit(url)
        password = parts.password
        netloc = parts.netloc
        if password is not None:
            userinfo, _, hostport = netloc.rpartition("@")
            user = userinfo.partition(":")[0]
            netloc = f"{user}:{MASK}@{hostport}"
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            query = urlencode(
                [(k, MASK if k.lower() in _SECRET_QUERY_KEYS else v) for k, v in pairs],
                safe="*",
            )
        # Built by hand: urlunsplit drops the "//" of an empty host (unix:///path).
        return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")
    except ValueError:
        return MASK


def env_port(environ: dict[str, str] | None = None) -> int:
    """The port from ``DEMO_PORT``, else the default; ValueError for a bad value."""
    value = (environ if environ is not None else os.environ).get("DEMO_PORT", "").strip()
    return parse_port(value) if value else DEFAULT_PORT


def parse_port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise ValueError(f"not a port number: {value!r}") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"a port is between 1 and 65535, not {port}")
    return port


def min_interval_seconds(environ: dict[str, str] | None = None) -> float:
    """``DEMO_MIN_INTERVAL_SECONDS``, else 10 s; ValueError for a bad value."""
    value = (environ if environ is not None else os.environ).get("DEMO_MIN_INTERVAL_SECONDS")
    if value is None or not value.strip():
        return DEFAULT_MIN_INTERVAL_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"DEMO_MIN_INTERVAL_SECONDS is not a number: {value!r}") from None
    if not 0 <= seconds <= 3600:
        raise ValueError(f"DEMO_MIN_INTERVAL_SECONDS must be between 0 and 3600, not {value}")
    return seconds


def describe_interval(seconds: float) -> str:
    """How the forgot page words the throttle."""
    if seconds <= 0:
        return "The demo sends a reset mail every time you ask."
    amount = f"{seconds:g} second" + ("" if seconds == 1 else "s")
    return (
        f"The demo sends at most one reset mail per account every {amount}, so that you can "
        "try again soon (the library's default is one a minute); links and codes count "
        "apart. Asking again sooner gets the same answer, but no new mail."
    )
