"""A small round-robin TCP proxy: each new client connection goes to the next backend, bytes piped both ways.

Stands in for a load balancer when measuring 1 vs 2 gateway processes; both cases go through it, so its
own cost is in both. `python -m bench.proxy --port P --backend 127.0.0.1:A [--backend 127.0.0.1:B]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import socket


def _nodelay(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _Upstream(asyncio.Protocol):
    """The backend side: whatever the backend sends goes to the client."""

    def __init__(self, client: asyncio.Transport) -> None:
        self.client = client

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        _nodelay(transport)

    def data_received(self, data: bytes) -> None:
        self.client.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.client.close()


class _Client(asyncio.Protocol):
    """The client side: connect to the next backend, buffer until connected, then pipe."""

    def __init__(self, backends: itertools.cycle[tuple[str, int]]) -> None:
        self.backends = backends
        self.transport: asyncio.Transport | None = None
        self.upstream: asyncio.Transport | None = None
        self.pending: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        _nodelay(transport)
        asyncio.get_running_loop().create_task(self._connect(*next(self.backends)))

    async def _connect(self, host: str, port: int) -> None:
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        try:
            upstream, _ = await loop.create_connection(lambda: _Upstream(self.transport), host, port)  # type: ignore[arg-type]
        except OSError:
            self.transport.close()
            return
        self.upstream = upstream
        for chunk in self.pending:
            upstream.write(chunk)
        self.pending.clear()

    def data_received(self, data: bytes) -> None:
        if self.upstream is None:
            self.pending.append(data)
        else:
            self.upstream.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.upstream is not None:
            self.upstream.close()


async def serve(port: int, backends: list[tuple[str, int]]) -> None:
    ring = itertools.cycle(backends)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Client(ring), "127.0.0.1", port, backlog=512)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.proxy")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--backend", action="append", required=True, help="host:port; repeat for more")
    args = parser.parse_args()
    backends = [(b.rsplit(":", 1)[0], int(b.rsplit(":", 1)[1])) for b in args.backend]
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, backends))


if __name__ == "__main__":
    main()
