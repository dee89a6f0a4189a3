"""Shared integration fixtures: a movable clock, core wired as the services wire it, principals."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from spendgate_core.domain.principals import Principal, PrincipalDirectory
from spendgate_core.runtime.bootstrap import adsim_reader, build_core, redis_client, redis_keys
from spendgate_core.runtime.settings import ReaderSettings
from spendgate_core.usecases.deps import CoreDeps
from tests.support.clock import MovableClock
from tests.support.stack import ADSIM_READ_TOKEN, World


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def core(world: World, clock: MovableClock) -> Iterator[CoreDeps]:
    """Core deps as the gateway or a worker wires them (read token only), on the test's clock."""
    settings = world.settings(ReaderSettings)
    client = redis_client(settings)
    reader = adsim_reader(settings, ADSIM_READ_TOKEN)
    yield build_core(settings, client=client, reader=reader, clock=clock, keys=redis_keys(settings))
    reader.close()
    client.close()


@pytest.fixture
def people(world: World) -> dict[str, Principal]:
    """Every principal of the world, by the name of its token (agent, reader, alice, bob, …)."""
    directory = PrincipalDirectory(world.principals_file)
    found = {name: directory.authenticate(token) for name, token in vars(world.tokens).items()}
    return {name: p for name, p in found.items() if p is not None}
