"""Fixtures for the executor against real Redis and a real adsim (see `harness`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from spendgate_core.adapters.platforms.adsim import AdsimReader, adsim_client
from spendgate_core.domain.principals import PrincipalDirectory
from spendgate_core.runtime.bootstrap import build_core, redis_keys
from spendgate_core.runtime.settings import ReaderSettings, load_settings
from spendgate_executor import wiring
from spendgate_executor.deps import ExecutorDeps
from spendgate_executor.settings import ExecutorSettings
from tests.integration.executor.harness import FAST_RETRIES, Harness, ManualClock, RqApplyQueue
from tests.support.executor import ExecutorWiring
from tests.support.stack import ADSIM_READ_TOKEN, World


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # pytest-timeout's default signal method shares SIGALRM with RQ's job timeout; a thread cannot clash.
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.timeout(90, method="thread"))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def harness(
    world: World, redis_client: redis.Redis, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Harness]:
    for name, value in {**world.env(), **FAST_RETRIES}.items():
        monkeypatch.setenv(name, value)

    executor = ExecutorWiring(lambda: wiring.build(load_settings(ExecutorSettings), clock=clock))

    def configure(**env: str) -> ExecutorDeps:
        """(Re)wire the executor, as a worker's entrypoint would, with extra env."""
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return executor.rewire()

    settings = load_settings(ReaderSettings)
    reader_http = adsim_client(world.adsim_url, ADSIM_READ_TOKEN)
    core = build_core(
        settings, client=redis_client, reader=AdsimReader(reader_http), clock=clock, keys=redis_keys(settings)
    )
    with httpx.Client(base_url=world.adsim_url, timeout=10) as adsim:
        try:
            yield Harness(
                world=world,
                core=core,
                clock=clock,
                redis=redis_client,
                adsim=adsim,
                queue=RqApplyQueue(redis_client),
                principals=PrincipalDirectory(world.principals_file),
                configure=configure,
                executor_wiring=executor,
            )
        finally:
            executor.close()
            reader_http.close()
