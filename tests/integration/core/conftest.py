"""Core use cases wired to real Redis and a real adsim, as the services wire them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from spendgate_core.bootstrap import adsim_reader, build_core, redis_client
from spendgate_core.deps import CoreDeps
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
    settings = world.settings(ReaderSettings)
    client = redis_client(settings)
    reader = adsim_reader(settings, ADSIM_READ_TOKEN)
    yield build_core(settings, client=client, reader=reader)
    reader.close()
    client.close()


@pytest.fixture
def queue() -> RecordingQueue:
    return RecordingQueue()
