"""`python -m spendgate_gateway`: serves with settings from the environment; bad config is one line."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest
from fastmcp import Client

from tests.support.processes import free_port, stop, wait_for_http
from tests.support.stack import World

pytestmark = [pytest.mark.anyio, pytest.mark.process]


def clean_env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SPENDGATE_")}
    return {**base, **extra}


async def test_module_entrypoint_serves_the_gateway(world: World) -> None:
    port = free_port()
    env = clean_env(**world.env(), SPENDGATE_GATEWAY_CACHE_TTL_SECONDS="0.5")
    proc = subprocess.Popen(
        [sys.executable, "-m", "spendgate_gateway", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/healthz", proc=proc)
        assert httpx.get(f"{base}/readyz").status_code == 200
        async with Client(f"{base}/mcp", auth=world.tokens.agent) as client:
            result = await client.call_tool("list_accounts", {})
            assert len(result.structured_content["accounts"]) == 3  # type: ignore[index]
    finally:
        stop(proc)


@pytest.mark.parametrize(
    ("drop", "extra", "expected"),
    [
        ("SPENDGATE_PRINCIPALS_FILE", {}, "SPENDGATE_PRINCIPALS_FILE: field required"),
        ("SPENDGATE_ADSIM_READ_TOKEN", {}, "SPENDGATE_ADSIM_READ_TOKEN: field required"),
        (None, {"SPENDGATE_GATEWAY_CACHE_TTL_SECONDS": "soon"}, "SPENDGATE_GATEWAY_CACHE_TTL_SECONDS"),
        (
            None,
            {"SPENDGATE_LEDGER_KEY_FILE": "/nonexistent/ledger.pem"},
            "ledger key file /nonexistent/ledger.pem",
        ),
        (None, {"SPENDGATE_PRINCIPALS_FILE": "/nonexistent/p.toml"}, "principals file /nonexistent/p.toml"),
    ],
)
def test_bad_configuration_is_one_line_and_exit_2(
    world: World, drop: str | None, extra: dict[str, str], expected: str
) -> None:
    env = {k: v for k, v in world.env().items() if k != drop}
    done = subprocess.run(
        [sys.executable, "-m", "spendgate_gateway", "--port", str(free_port())],
        env=clean_env(**{**env, **extra}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("spendgate gateway: ") and expected in lines[0], (
        done.stderr
    )
