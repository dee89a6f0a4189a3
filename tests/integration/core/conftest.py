"""Core use cases wired to real Redis and a real adsim, as the services wire them."""

from __future__ import annotations

import pytest

from spendgate_core.usecases.deps import CoreDeps


class RecordingQueue:
    """The apply-queue port, recording what would be enqueued (the executor is tested on its own)."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, int]] = []

    def enqueue_apply(self, draft_id: str, version: int) -> None:
        self.jobs.append((draft_id, version))


@pytest.fixture
def deps(core: CoreDeps) -> CoreDeps:
    """The shared `core` wiring (tests/integration/conftest.py), under the name these tests use."""
    return core


@pytest.fixture
def queue() -> RecordingQueue:
    return RecordingQueue()
