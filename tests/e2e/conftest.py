"""e2e fixtures: every service as a `spendgate` subprocess on free ports, sharing one Redis and one adsim."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from tests.support.processes import RedisServer, free_ports, spendgate_process
from tests.support.stack import Tokens, World, make_world

ROOT = Path(__file__).resolve().parents[2]
INSPECTOR = ROOT / "node_modules" / "@modelcontextprotocol" / "inspector"


@dataclass(frozen=True)
class Stack:
    world: World
    mcp_url: str
    api_url: str
    adsim_url: str
    logs: Path
    worker_metrics_url: str

    @property
    def tokens(self) -> Tokens:
        return self.world.tokens

    def env(self) -> dict[str, str]:
        """What an operator's shell needs for `spendgate audit …` / `spendgate principal …`."""
        return {**self.world.env(), "SPENDGATE_APPROVALS_URL": self.api_url}

    def log_tails(self, lines: int = 20) -> str:
        """The end of every service log, for failure messages."""
        parts = []
        for log in sorted(self.logs.glob("*.log")):
            tail = log.read_text("utf-8", errors="replace").splitlines()[-lines:]
            parts.append(f"--- {log.name}\n" + "\n".join(tail))
        return "\n".join(parts)


@pytest.fixture(scope="module")
def stack(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """adsim, gateway, approvals and one worker as `spendgate` subprocesses; torn down after the module."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    client.close()
    base = tmp_path_factory.mktemp("e2e")
    logs = base / "logs"
    adsim_port, gateway_port, api_port, metrics_port = free_ports(4)
    adsim_url, api_url = f"http://127.0.0.1:{adsim_port}", f"http://127.0.0.1:{api_port}"
    world = make_world(base / "world", redis_url=redis_server.url, adsim_url=adsim_url)
    env = {**world.env(), "SPENDGATE_PUBLIC_URL": api_url, "SPENDGATE_METRICS_HOST": "127.0.0.1"}
    reader_env = {k: v for k, v in env.items() if k != "SPENDGATE_ADSIM_WRITE_TOKEN"}  # as deployed
    adsim_env = {k: v for k, v in env.items() if k.startswith("SPENDGATE_ADSIM_") and k.endswith("_TOKEN")}
    with ExitStack() as running:
        for args, service_env, health in [
            (["adsim", "--port", str(adsim_port), "--seed", "0"], adsim_env, f"{adsim_url}/healthz"),
            (
                ["gateway", "--port", str(gateway_port)],
                reader_env,
                f"http://127.0.0.1:{gateway_port}/healthz",
            ),
            (["approvals", "--port", str(api_port)], reader_env, f"{api_url}/healthz"),
            (
                ["worker", "--metrics-port", str(metrics_port)],
                env,
                f"http://127.0.0.1:{metrics_port}/healthz",
            ),
        ]:
            running.enter_context(
                spendgate_process(args, env=service_env, health_url=health, log_path=logs / f"{args[0]}.log")
            )
        yield Stack(
            world,
            f"http://127.0.0.1:{gateway_port}/mcp",
            api_url,
            adsim_url,
            logs,
            f"http://127.0.0.1:{metrics_port}/metrics",
        )
