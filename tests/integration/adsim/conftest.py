"""adsim served by a real uvicorn per test module (seeded by the module's `SEED`), with clients by role."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from spendgate_adsim.app import create_app
from tests.support.servers import serve_in_thread

READ, WRITE = "read-token-for-tests", "write-token-for-tests"


@pytest.fixture(scope="module")
def base_url(request: pytest.FixtureRequest) -> Iterator[str]:
    app = create_app(seed=getattr(request.module, "SEED", 0), read_token=READ, write_token=WRITE)
    with serve_in_thread(app) as url:
        yield url


@pytest.fixture
def sim(base_url: str) -> Iterator[httpx.Client]:
    """An untokened client for /_sim; resets the sandbox before each test."""
    with httpx.Client(base_url=base_url) as client:
        client.post("/_sim/reset").raise_for_status()
        yield client


@pytest.fixture
def reader(base_url: str, sim: httpx.Client) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {READ}"}) as client:
        yield client


@pytest.fixture
def writer(base_url: str, sim: httpx.Client) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {WRITE}"}) as client:
        yield client
