"""The demo's stand-in for an e-mail service: mails are kept in memory and printed."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str
    link: str = ""
    sent_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def sent_at_utc(self) -> str:
        """The time it was sent, with its zone: ``2025-01-31 14:05:09 UTC``."""
        return f"{self.sent_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


class Outbox:
    def __init__(self) -> None:
        self.mails: list[Mail] = []

    def send(self, mail: Mail) -> None:
        self.mails.append(mail)
        print(
            f"\n--- OUTBOX: mail to {mail.to} ---\n{mail.subject}\n{mail.sent_at_utc}\n\n"
            f"{mail.body}\n"
            + (f"\n    {mail.link}\n" if mail.link else "")
            + "--- end of mail ---\n",
            file=sys.stdout,
            flush=True,
        )
