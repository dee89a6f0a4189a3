"""The `spendgate dev` command line: its options and help; the work is in `runner` (imported on use)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def dev(
    state_dir: Annotated[
        Path, typer.Option(help="Where tokens, policy, ledger key, logs and Redis data live.")
    ] = Path(".dev"),
    host: Annotated[str, typer.Option(help="Interface the services listen on.")] = "127.0.0.1",
    gateway_port: Annotated[int, typer.Option(min=1, max=65535, help="MCP gateway port.")] = 8080,
    approvals_port: Annotated[int, typer.Option(min=1, max=65535, help="Approval service port.")] = 8081,
    adsim_port: Annotated[int, typer.Option(min=1, max=65535, help="adsim sandbox port.")] = 8090,
    worker_metrics_port: Annotated[int, typer.Option(min=1, max=65535, help="Worker /metrics port.")] = 9102,
    redis_port: Annotated[
        int, typer.Option(min=1, max=65535, help="Port for the private redis-server (any free one if taken).")
    ] = 6380,
    seed: Annotated[int, typer.Option(min=0, help="adsim's data seed.")] = 0,
    keep_data: Annotated[
        bool,
        typer.Option("--keep-data", help="Keep the private Redis's drafts and ledger from the last run."),
    ] = False,
    check: Annotated[
        bool,
        typer.Option("--check", help="Start everything, wait until healthy, print the banner, stop, exit 0."),
    ] = False,
    timeout: Annotated[
        float, typer.Option(min=1, help="Seconds each service may take to become healthy.")
    ] = 60,
) -> None:
    """Run the whole stack locally (what `make run` calls): Redis, adsim, gateway, approvals, one worker.

    Every run writes dev principals with FRESH random tokens to STATE_DIR (agents `claude` and
    `readonly-bot`, approvers `alice@example.com` and `bob@example.com`), prints them with the MCP and
    console URLs, and writes them to STATE_DIR/tokens.env for `source`. The policy file and the ledger
    key are created once and kept.

    Redis: unless SPENDGATE_REDIS_URL is set, spendgate dev always starts its own redis-server (AOF on,
    data in STATE_DIR/redis, port --redis-port or any free one) instead of using whatever listens on
    6379: dev drafts and the dev ledger never land in a Redis you did not ask for (nor another project's
    data in yours), and every run gets the same, durable configuration. Its data starts empty on every
    run, like adsim's sandbox (drafts about budgets the sandbox no longer has would only confuse); pass
    --keep-data to keep it. Set SPENDGATE_REDIS_URL to use a Redis you run (never emptied); if nothing
    answers PING there, a private one is started instead.

    Ctrl-C (or SIGTERM) stops everything it started. If a service dies, it says which and where its log
    is (STATE_DIR/logs/<service>.log) and stops the rest.
    """
    # Imported on use: the runner pulls in httpx, redis and cryptography, which other commands never need.
    from spendgate_cli.dev.runner import DevOptions, run_dev
    from spendgate_cli.dev.stack import Ports

    ports = Ports(host, adsim_port, gateway_port, approvals_port, worker_metrics_port)
    run_dev(
        DevOptions(
            state_dir=state_dir, ports=ports, redis_port=redis_port, seed=seed, keep_data=keep_data,
            check=check, timeout=timeout,
        )
    )  # fmt: skip
