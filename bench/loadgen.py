"""A raw asyncio HTTP/1.1 load client for MCP `tools/call` on the sessionless 2026-07-28 path.

One keep-alive connection per worker, requests pre-rendered to bytes, responses framed by hand
(Content-Length or chunked). fastmcp4.md §7 measured httpx at ~1 ms of client CPU per call, which
capped a bare FastMCP server at about half its throughput; this client costs a few tens of µs, so the
server under test is what saturates. Both sides of every comparison use this same client.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import statistics
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

PROTOCOL_VERSION = "2026-07-28"
OK_MARK = b'"isError":false'
REQUEST_TIMEOUT = 30.0  # seconds; a stuck server fails its calls instead of hanging the bench


@dataclass(frozen=True)
class CallTemplate:
    """One `tools/call` request as bytes, with only the JSON-RPC id left to fill in."""

    head: bytes
    body_prefix: bytes
    body_suffix: bytes

    def render(self, request_id: int) -> bytes:
        rid = str(request_id).encode()
        length = len(self.body_prefix) + len(rid) + len(self.body_suffix)
        return b"".join(
            (self.head, str(length).encode(), b"\r\n\r\n", self.body_prefix, rid, self.body_suffix)
        )


def tools_call(
    *, host: str, port: int, path: str, token: str, tool: str, arguments: dict[str, Any]
) -> CallTemplate:
    """The headers and `_meta` envelope the modern path requires (fastmcp4.md §2 wire contract)."""
    head = (
        f"POST {path} HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        "Content-Type: application/json\r\n"
        "Accept: application/json, text/event-stream\r\n"
        f"MCP-Protocol-Version: {PROTOCOL_VERSION}\r\n"
        "Mcp-Method: tools/call\r\n"
        f"Mcp-Name: {tool}\r\n"
        f"Authorization: Bearer {token}\r\n"
        "Content-Length: "
    ).encode()
    params = {
        "name": tool,
        "arguments": arguments,
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": PROTOCOL_VERSION,
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "spendgate-bench", "version": "1"},
        },
    }
    suffix = ',"method":"tools/call","params":' + json.dumps(params, separators=(",", ":")) + "}"
    return CallTemplate(head, b'{"jsonrpc":"2.0","id":', suffix.encode())


class Connection:
    """One keep-alive HTTP/1.1 connection (TCP_NODELAY), one request at a time."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._reader, self._writer = reader, writer
        return reader, writer

    async def request(self, data: bytes) -> tuple[int, bytes]:
        if self._reader is None or self._writer is None:
            reader, writer = await self._open()
        else:
            reader, writer = self._reader, self._writer
        writer.write(data)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        if b"transfer-encoding: chunked" in lower:
            body = await self._chunked(reader)
        else:
            start = lower.find(b"content-length:")
            if start < 0:
                raise RuntimeError(f"response without length: {head[:200]!r}")
            end = lower.index(b"\r\n", start)
            body = await reader.readexactly(int(lower[start + 15 : end]))
        if b"connection: close" in lower:
            await self.close()
        return status, body

    @staticmethod
    async def _chunked(reader: asyncio.StreamReader) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None


@dataclass
class LoadResult:
    calls: int = 0
    errors: int = 0
    seconds: float = 0.0
    client_cpu_seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    first_error: str | None = None

    @property
    def calls_per_s(self) -> float:
        return self.calls / self.seconds if self.seconds > 0 else 0.0

    def percentile_ms(self, q: float) -> float | None:
        if len(self.latencies) < 2:
            return None
        cuts = statistics.quantiles(self.latencies, n=100, method="inclusive")
        return round(cuts[int(q) - 1] * 1000, 2)

    def merge(self, other: LoadResult) -> None:
        self.calls += other.calls
        self.errors += other.errors
        self.seconds += other.seconds
        self.client_cpu_seconds += other.client_cpu_seconds
        self.latencies.extend(other.latencies)
        self.first_error = self.first_error or other.first_error

    def summary(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "calls_per_s": round(self.calls_per_s, 1),
            "p50_ms": self.percentile_ms(50),
            "p99_ms": self.percentile_ms(99),
            "client_cpu_share": round(self.client_cpu_seconds / self.seconds, 3) if self.seconds else None,
            "first_error": self.first_error,
        }


Check = Callable[[int, bytes], bool]


def tool_ok(status: int, body: bytes) -> bool:
    return status == 200 and OK_MARK in body


class Pool:
    """`concurrency` workers, each with its own connection, reused across phases."""

    def __init__(self, host: str, port: int, concurrency: int) -> None:
        self.connections = [Connection(host, port) for _ in range(concurrency)]
        self._next_id = 0

    def ids(self) -> int:
        self._next_id += 1
        return self._next_id

    async def _one(self, conn: Connection, data: bytes, result: LoadResult, check: Check) -> None:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                status, body = await conn.request(data)
        except (
            OSError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ValueError,
            TimeoutError,
        ) as exc:
            await conn.close()
            result.errors += 1
            result.first_error = result.first_error or f"{type(exc).__name__}: {exc}"
            return
        result.latencies.append(time.perf_counter() - started)
        if check(status, body):
            result.calls += 1
        else:
            result.errors += 1
            result.first_error = result.first_error or f"HTTP {status}: {body[:400]!r}"

    async def timed(
        self, render: Callable[[int, int], bytes], *, seconds: float, max_calls: int, check: Check = tool_ok
    ) -> LoadResult:
        """Every worker sends `render(worker, id)` back to back until `seconds` or `max_calls` run out."""
        result = LoadResult()
        budget = [max_calls]
        deadline = time.perf_counter() + seconds

        async def worker(index: int, conn: Connection) -> None:
            while time.perf_counter() < deadline and budget[0] > 0:
                budget[0] -= 1
                await self._one(conn, render(index, self.ids()), result, check)

        cpu0, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker(i, c) for i, c in enumerate(self.connections)))
        result.seconds = time.perf_counter() - started
        result.client_cpu_seconds = time.process_time() - cpu0
        return result

    async def batch(
        self, requests: Sequence[Callable[[int], bytes]], *, check: Check = tool_ok
    ) -> LoadResult:
        """Send every request once, the workers taking the next one as they free up."""
        result = LoadResult()
        todo = deque(requests)

        async def worker(conn: Connection) -> None:
            while todo:
                await self._one(conn, todo.popleft()(self.ids()), result, check)

        cpu0, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker(c) for c in self.connections))
        result.seconds = time.perf_counter() - started
        result.client_cpu_seconds = time.process_time() - cpu0
        return result

    async def close(self) -> None:
        for conn in self.connections:
            await conn.close()


async def call_once(host: str, port: int, template: CallTemplate) -> tuple[int, dict[str, Any]]:
    """One call, its JSON-RPC message parsed (SSE framing unwrapped): for capturing real responses."""
    conn = Connection(host, port)
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT):
            status, body = await conn.request(template.render(1))
    finally:
        await conn.close()
    text = body.decode()
    if text.startswith("event:") or "\ndata: " in text:
        text = next(line[6:] for line in text.splitlines() if line.startswith("data: "))
    return status, json.loads(text)
