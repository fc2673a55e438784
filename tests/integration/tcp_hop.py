"""A TCP hop to PostgreSQL that a test can cut: the database becomes unreachable.

``close()`` drops every connection through the hop and from then on hangs up on every new
one at once (counted in ``refused``), as a server that went away; ``open()`` lets
connections through again, on the same address, so a pool finds the database back.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit


class TcpHop:
    def __init__(self, dsn: str) -> None:
        self._target = urlsplit(dsn)
        self._server: asyncio.Server | None = None
        self._pumps: set[asyncio.Task[None]] = set()
        self.passing = False
        self.refused = 0

    async def open(self) -> str:
        """Let connections through; the dsn that goes through the hop."""
        if self._server is None:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.passing = True
        port = self._server.sockets[0].getsockname()[1]
        credentials, _, _ = self._target.netloc.rpartition("@")
        host = f"127.0.0.1:{port}"
        return self._target._replace(
            netloc=f"{credentials}@{host}" if credentials else host
        ).geturl()

    async def close(self, *, for_good: bool = False) -> None:
        """Drop every connection; hang up on new ones (``for_good``: stop listening)."""
        self.passing = False
        if for_good and self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._pumps):
            task.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        if not self.passing:
            self.refused += 1
            client_w.close()
            return
        task = asyncio.current_task()
        assert task is not None
        self._pumps.add(task)
        server_w: asyncio.StreamWriter | None = None
        try:
            server_r, server_w = await asyncio.open_connection(
                self._target.hostname, self._target.port
            )
            await asyncio.gather(_pump(client_r, server_w), _pump(server_r, client_w))
        except (OSError, asyncio.CancelledError):
            pass  # cut: both sides are closed below
        finally:
            for writer in (client_w, server_w):
                if writer is not None:
                    with contextlib.suppress(Exception):
                        writer.close()
            self._pumps.discard(task)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(1 << 16):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()
