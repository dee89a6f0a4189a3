"""The baseline: a bare FastMCP server whose tools return constants the size of the gateway's real answers.

Same framework version, same transport settings as the gateway (`http_app(stateless_http=True)` on `/mcp`,
uvicorn with the access log off), same auth style (a static bearer-token verifier requiring `mcp.read`),
same tool names and argument names; the tools do no work. Run as
`python -m bench.baseline_mcp --port P --token T --payloads payloads.json [--sync]`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import uvicorn
from fastmcp import FastMCP
from fastmcp.server.auth import StaticTokenVerifier
from starlette.requests import Request
from starlette.responses import JSONResponse, Response


def build(token: str, payloads: dict[str, dict[str, Any]], *, sync_tools: bool) -> FastMCP:
    verifier = StaticTokenVerifier(
        tokens={token: {"client_id": "bench", "scopes": ["mcp.read", "mcp.draft"]}},
        required_scopes=["mcp.read"],
    )
    mcp = FastMCP("baseline", auth=verifier)
    snapshot = payloads["get_account_snapshot"]
    proposal = payloads["propose_budget_change"]

    if sync_tools:  # like the gateway's tools: plain functions, run in a worker thread by FastMCP

        @mcp.tool
        def get_account_snapshot(account_id: str) -> dict[str, Any]:
            return snapshot

        @mcp.tool
        def propose_budget_change(
            account_id: str,
            campaign_id: str,
            new_daily_budget: str,
            reason: str,
            expected_current_budget: str | None = None,
        ) -> dict[str, Any]:
            return proposal

    else:

        @mcp.tool(name="get_account_snapshot")
        async def get_account_snapshot_async(account_id: str) -> dict[str, Any]:
            return snapshot

        @mcp.tool(name="propose_budget_change")
        async def propose_budget_change_async(
            account_id: str,
            campaign_id: str,
            new_daily_budget: str,
            reason: str,
            expected_current_budget: str | None = None,
        ) -> dict[str, Any]:
            return proposal

    @mcp.custom_route("/healthz", methods=["GET"])
    async def healthz(_: Request) -> Response:
        return JSONResponse({"ok": True})

    return mcp


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.baseline_mcp")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--payloads", type=Path, required=True)
    parser.add_argument("--sync", action="store_true", help="sync tools (thread offload), as the gateway's")
    args = parser.parse_args()
    payloads = json.loads(args.payloads.read_text())
    app = build(args.token, payloads, sync_tools=args.sync).http_app(path="/mcp", stateless_http=True)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False, lifespan="on")


if __name__ == "__main__":
    main()
