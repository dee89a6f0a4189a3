"""Operational HTTP routes on the MCP port: liveness, readiness and Prometheus metrics (no auth)."""

from __future__ import annotations

import anyio
import redis
from fastmcp import FastMCP
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from spendgate_gateway.deps import GatewayDeps


def _checks(gw: GatewayDeps) -> dict[str, bool]:
    try:
        redis_ok = bool(gw.redis_client.ping())
    except redis.RedisError:
        redis_ok = False
    try:
        with gw.principals_file.open("rb") as handle:
            handle.read(1)
        principals_ok = True
    except OSError:
        principals_ok = False
    return {"redis": redis_ok, "principals_file": principals_ok}


def register_ops_routes(mcp: FastMCP, gw: GatewayDeps) -> None:
    @mcp.custom_route("/healthz", methods=["GET"])
    async def healthz(_: Request) -> Response:
        return JSONResponse({"ok": True})

    @mcp.custom_route("/readyz", methods=["GET"])
    async def readyz(_: Request) -> Response:
        checks = await anyio.to_thread.run_sync(_checks, gw)  # redis-py is blocking
        ready = all(checks.values())
        return JSONResponse({"ok": ready, "checks": checks}, status_code=200 if ready else 503)

    @mcp.custom_route("/metrics", methods=["GET"])
    async def metrics(_: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
