"""A minimal HTTP/1.1 keep-alive client: the least client work between two timestamps.

httpx spends a millisecond or more of the client's CPU per request, which adds noise and
dilutes a ratio of latencies; a hostile client measuring timing uses something leaner. Here a
request's bytes are built before the clock starts, and the clock stops when the body has
arrived. Only what the benchmark's servers answer is understood: a status line, headers with
``content-length``, and a body.
"""

from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import urlencode, urlsplit


def _request(method: str, path: str, host: str, content_type: str | None, body: bytes) -> bytes:
    head = [f"{method} {path} HTTP/1.1", f"host: {host}"]
    if content_type is not None:
        head += [f"content-type: {content_type}", f"content-length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class RawConnection:
    """One keep-alive connection to ``url``; `open` it first and `close` it at the end."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> RawConnection:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            await self._writer.wait_closed()

    def get(self, path: str) -> bytes:
        return _request("GET", path, self.host, None, b"")

    def post_json(self, path: str, body: object) -> bytes:
        return _request("POST", path, self.host, "application/json", json.dumps(body).encode())

    def post_form(self, path: str, fields: dict[str, str]) -> bytes:
        form = "application/x-www-form-urlencoded"
        return _request("POST", path, self.host, form, urlencode(fields).encode())

    async def send(self, request: bytes) -> tuple[int, float]:
        """Send prepared bytes; the status and the seconds until the whole answer arrived."""
        assert self._reader is not None, "not open"
        assert self._writer is not None, "not open"
        started = time.perf_counter()
        self._writer.write(request)
        head = await self._reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self._reader.readexactly(length)
        elapsed = time.perf_counter() - started
        return int(head.split(b" ", 2)[1]), elapsed
