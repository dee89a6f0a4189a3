"""Session-wide real infrastructure: a private redis-server this test session starts and owns."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.support.processes import RedisServer
from tests.support.stack import World, make_world


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(Path(tmp_path_factory.mktemp("redis")))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """A clean database on the session's redis-server for each test."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    client.close()
    yield redis_server.url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # fastmcp.Client requires asyncio


@pytest.fixture(scope="session")
def adsim_server() -> Iterator[str]:
    """One real adsim (uvicorn, seed 0) for the session; `adsim_url` resets it for each test."""
    from spendgate_adsim.app import create_app
    from tests.support.servers import serve_in_thread
    from tests.support.stack import ADSIM_READ_TOKEN, ADSIM_WRITE_TOKEN

    app = create_app(seed=0, read_token=ADSIM_READ_TOKEN, write_token=ADSIM_WRITE_TOKEN)
    with serve_in_thread(app) as url:
        yield url


@pytest.fixture
def adsim_url(adsim_server: str) -> str:
    httpx.post(f"{adsim_server}/_sim/reset", timeout=10).raise_for_status()
    return adsim_server


@pytest.fixture
def world(tmp_path: Path, redis_url: str, adsim_url: str) -> World:
    """Principals, policy and ledger key files plus the env that points services at them."""
    return make_world(tmp_path / "world", redis_url=redis_url, adsim_url=adsim_url)
