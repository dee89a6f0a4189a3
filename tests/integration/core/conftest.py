"""Core use cases wired to real Redis and a real adsim, as the services wire them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from spendgate_core.bootstrap import adsim_reader, build_core, redis_client
from spendgate_core.deps import CoreDeps
from spendgate_core.principals import Principal, PrincipalDirectory
from spendgate_core.settings import ReaderSettings
from tests.support.stack import ADSIM_READ_TOKEN, World


class RecordingQueue:
    """The apply-queue port, recording what would be enqueued (the executor is tested on its own)."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, int]] = []

    def enqueue_apply(self, draft_id: str, version: int) -> None:
        self.jobs.append((draft_id, version))


@pytest.fixture
def deps(world: World) -> Iterator[CoreDeps]:
    settings = ReaderSettings(
        redis_url=world.redis_url,
        principals_file=world.principals_file,
        policy_file=world.policy_file,
        adsim_url=world.adsim_url,
        ledger_key_file=world.ledger_key_file,
        adsim_read_token=ADSIM_READ_TOKEN,
    )
    client = redis_client(settings)
    reader = adsim_reader(settings, ADSIM_READ_TOKEN)
    yield build_core(settings, client=client, reader=reader)
    reader.close()
    client.close()


@pytest.fixture
def people(world: World) -> dict[str, Principal]:
    directory = PrincipalDirectory(world.principals_file)
    tokens = world.tokens
    found = {
        "agent": directory.authenticate(tokens.agent),
        "reader": directory.authenticate(tokens.reader),
        "alice": directory.authenticate(tokens.alice),
        "bob": directory.authenticate(tokens.bob),
        "carol": directory.authenticate(tokens.carol),
        "viewer": directory.authenticate(tokens.viewer),
        "eu_agent": directory.authenticate(tokens.eu_agent),
    }
    assert all(found.values())
    return {k: v for k, v in found.items() if v is not None}


@pytest.fixture
def queue() -> RecordingQueue:
    return RecordingQueue()
