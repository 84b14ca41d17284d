"""A TCP proxy in front of a real redis-server that loses replies on demand.

A stopped server only shows what a client does when Redis is gone. The harder fault is a
reply lost after Redis ran the command: the client sees a dropped connection, its retry
sends the command again, and the command runs twice. This proxy makes that happen, and can
also lose every reply until told to stop, so that a client's retries run out.

It runs in the test's own event loop, so a test needs neither threads nor a second process.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from dataclasses import dataclass
from types import TracebackType

CHUNK_SIZE = 65536


@dataclass
class _Link:
    """One client connection and the server connection it is forwarded to."""

    drop_reply: bool = False


class ReplyDroppingProxy:
    """Forwards 127.0.0.1:<port> to a Redis server at 127.0.0.1:<target_port>.

    Requests are matched by their raw RESP bytes as read from one client connection: a
    command redis-py pipelines with others in one write is matched with them. A matched
    request's reply is lost once the server has started to send it, so the command has run;
    whatever the reply was: an EVALSHA answered NOSCRIPT ran nothing.
    """

    host = "127.0.0.1"

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.dropped = 0
        self._matching = b""
        self._drops_left = 0
        self._blackholed = False
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def drop_next_reply(self, matching: bytes, times: int = 1) -> None:
        """Lose the replies to the next ``times`` requests containing ``matching`` (any case)."""
        self._matching = matching.lower()
        self._drops_left = times

    def blackhole(self) -> None:
        """Lose every reply from now on, closing each connection that gets one."""
        self._blackholed = True

    def restore(self) -> None:
        """Forward replies again."""
        self._blackholed = False

    async def __aenter__(self) -> ReplyDroppingProxy:
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        # Python 3.11's Server.wait_closed does not wait for open connections: end them here,
        # once a connection accepted just now has started and joined the set.
        await asyncio.sleep(0)
        for connection in self._connections:
            connection.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._link(client_reader, client)
        except asyncio.CancelledError:
            # Only __aexit__ cancels a connection; and Python 3.11's stream server reports a
            # handler that ends cancelled as an error.
            pass
        finally:
            self._connections.discard(task)

    async def _link(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        server: asyncio.StreamWriter | None = None
        try:
            server_reader, server = await asyncio.open_connection(self.host, self.target_port)
            link = _Link()
            pumps = {
                asyncio.create_task(self._forward_requests(client_reader, server, link)),
                asyncio.create_task(self._forward_replies(server_reader, client, link)),
            }
            try:
                # Either side closing, or a reply being lost, ends the whole link.
                await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pump in pumps:
                    pump.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
        except OSError:
            pass  # The server is unreachable: the client sees its connection closed.
        finally:
            writers = [writer for writer in (client, server) if writer is not None]
            # Both closed before either is awaited, so that a cancellation cannot leave one open.
            for writer in writers:
                writer.close()
            for writer in writers:
                with suppress(OSError):
                    await writer.wait_closed()

    async def _forward_requests(
        self, reader: asyncio.StreamReader, server: asyncio.StreamWriter, link: _Link
    ) -> None:
        with suppress(OSError):
            while chunk := await reader.read(CHUNK_SIZE):
                if self._drops_left and self._matching in chunk.lower():
                    self._drops_left -= 1
                    # Marked before the request is sent, so its reply cannot arrive first.
                    link.drop_reply = True
                server.write(chunk)
                await server.drain()

    async def _forward_replies(
        self, reader: asyncio.StreamReader, client: asyncio.StreamWriter, link: _Link
    ) -> None:
        with suppress(OSError):
            while chunk := await reader.read(CHUNK_SIZE):
                if link.drop_reply or self._blackholed:
                    # The reply has begun, so the server ran the command: lose it, and end
                    # the link as a lost connection would.
                    self.dropped += 1
                    return
                client.write(chunk)
                await client.drain()
