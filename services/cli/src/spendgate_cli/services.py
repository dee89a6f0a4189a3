"""`spendgate gateway|approvals|worker|adsim`: run one service through its public `run(...)` entrypoint.

Each command imports its service lazily, so `spendgate gateway` never loads RQ or any write path.
"""

from __future__ import annotations

from typing import Annotated

import typer

Host = Annotated[str, typer.Option(help="Interface to listen on.")]


def gateway(
    host: Host = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=1, max=65535, help="Port for /mcp, /healthz, /readyz, /metrics.")
    ] = 8080,
) -> None:
    """Run the MCP gateway (read and draft tools; never an approve path)."""
    from spendgate_gateway.server import run

    run(host=host, port=port)


def approvals(
    host: Host = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=1, max=65535, help="Port for the REST API and the console.")
    ] = 8081,
) -> None:
    """Run the approval service (REST API, web console, Slack, webhooks)."""
    from spendgate_approvals.server import run

    run(host=host, port=port)


def worker(
    burst: Annotated[bool, typer.Option("--burst", help="Drain the queue, then exit.")] = False,
    metrics_port: Annotated[
        int, typer.Option(min=1, max=65535, help="Port for the worker's /metrics endpoint.")
    ] = 9102,
) -> None:
    """Run one executor worker: applies approved drafts to the ad platform."""
    from spendgate_executor.worker import run

    run(burst=burst, metrics_port=metrics_port)


def adsim(
    host: Host = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port for the sandbox platform's API.")] = 8090,
    seed: Annotated[int, typer.Option(min=0, help="Seed for the deterministic sandbox data.")] = 0,
) -> None:
    """Run adsim, the sandbox ad platform."""
    from spendgate_adsim.server import run

    run(host=host, port=port, seed=seed)
