"""What `spendgate dev` runs: one command line, environment and health URL per service.

Each service gets only the credentials it needs: the adsim write token goes to adsim and the worker,
never to the gateway (the gateway holds no write credentials).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from spendgate_cli.dev.state import DevState

# Variables `spendgate dev` decides for its children; the caller's values (say, from a sourced
# tokens.env of an earlier run) must not leak into a service that should not have them.
MANAGED = frozenset(
    {
        "SPENDGATE_REDIS_URL",
        "SPENDGATE_PRINCIPALS_FILE",
        "SPENDGATE_POLICY_FILE",
        "SPENDGATE_LEDGER_KEY_FILE",
        "SPENDGATE_PLATFORM",
        "SPENDGATE_ADSIM_URL",
        "SPENDGATE_ADSIM_READ_TOKEN",
        "SPENDGATE_ADSIM_WRITE_TOKEN",
        "SPENDGATE_PUBLIC_URL",
        "SPENDGATE_METRICS_HOST",
        "SPENDGATE_TOKEN",
    }
)


@dataclass(frozen=True)
class Ports:
    host: str = "127.0.0.1"
    adsim: int = 8090
    gateway: int = 8080
    approvals: int = 8081
    worker_metrics: int = 9102

    @property
    def url_host(self) -> str:
        """The host to put in URLs: a wildcard bind is reached through loopback."""
        return "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host  # noqa: S104 - compared, not bound

    def url(self, port: int) -> str:
        return f"http://{self.url_host}:{port}"

    @property
    def mcp_url(self) -> str:
        return f"{self.url(self.gateway)}/mcp"

    @property
    def approvals_url(self) -> str:
        return self.url(self.approvals)

    @property
    def console_url(self) -> str:
        return f"{self.url(self.approvals)}/console/"

    @property
    def adsim_url(self) -> str:
        return self.url(self.adsim)


@dataclass(frozen=True)
class Service:
    name: str
    argv: list[str]
    env: dict[str, str]
    health_url: str


def plan(
    state: DevState, ports: Ports, *, redis_url: str, seed: int, environ: Mapping[str, str] | None = None
) -> list[Service]:
    """The services in start order (adsim first: the others read it); stop order is the reverse."""
    base = {k: v for k, v in (os.environ if environ is None else environ).items() if k not in MANAGED}
    base["PYTHONUNBUFFERED"] = "1"  # logs reach .dev/logs as they happen
    shared = {
        **base,
        "SPENDGATE_REDIS_URL": redis_url,
        "SPENDGATE_PRINCIPALS_FILE": str(state.principals_file),
        "SPENDGATE_POLICY_FILE": str(state.policy_file),
        "SPENDGATE_LEDGER_KEY_FILE": str(state.ledger_key_file),
        "SPENDGATE_ADSIM_URL": ports.adsim_url,
        "SPENDGATE_PUBLIC_URL": ports.approvals_url,
    }
    read = {"SPENDGATE_ADSIM_READ_TOKEN": state.tokens.adsim_read}
    write = {"SPENDGATE_ADSIM_WRITE_TOKEN": state.tokens.adsim_write}
    cli = [sys.executable, "-m", "spendgate_cli"]
    host = ["--host", ports.host]
    return [
        Service(
            "adsim",
            [*cli, "adsim", *host, "--port", str(ports.adsim), "--seed", str(seed)],
            {**shared, **read, **write},
            f"{ports.adsim_url}/healthz",
        ),
        Service(
            "gateway",
            [*cli, "gateway", *host, "--port", str(ports.gateway)],
            {**shared, **read},
            f"{ports.url(ports.gateway)}/healthz",
        ),
        Service(
            "approvals",
            [*cli, "approvals", *host, "--port", str(ports.approvals)],
            {**shared, **read},
            f"{ports.approvals_url}/healthz",
        ),
        Service(
            "worker",
            [*cli, "worker", "--metrics-port", str(ports.worker_metrics)],
            {**shared, **write, "SPENDGATE_METRICS_HOST": ports.host},
            f"{ports.url(ports.worker_metrics)}/healthz",
        ),
    ]
