"""The executor's dependencies for an in-process worker in a test, rebuilt when the test changes the env."""

from __future__ import annotations

from collections.abc import Callable

import redis
from rq import Queue
from rq.serializers import JSONSerializer

from spendgate_executor import wiring
from spendgate_executor.deps import ExecutorDeps
from spendgate_executor.worker import ExecutorWorker


class ExecutorWiring:
    """What `spendgate worker` builds once; a test may rebuild it (`rewire`) after changing settings."""

    def __init__(self, build: Callable[[], ExecutorDeps]) -> None:
        self._build = build
        self._deps: ExecutorDeps | None = None

    @property
    def deps(self) -> ExecutorDeps:
        if self._deps is None:
            self._deps = self._build()
        return self._deps

    def rewire(self, build: Callable[[], ExecutorDeps] | None = None) -> ExecutorDeps:
        """Close what was built and build afresh (with `build`, from now on, when given)."""
        self.close()
        self._build = build or self._build
        return self.deps

    def close(self) -> None:
        if self._deps is not None:
            wiring.close(self._deps)
            self._deps = None

    def work(self, redis_url: str, queue_name: str) -> bool:
        """One burst of spendgate's worker on `queue_name`, on its own connection, as the worker has
        (RQ stretches its connection's socket timeout to its blocking dequeue)."""
        connection = redis.Redis.from_url(redis_url)
        try:
            queue = Queue(queue_name, connection=connection, serializer=JSONSerializer)
            worker = ExecutorWorker([queue], deps=self.deps, connection=connection, serializer=JSONSerializer)
            return bool(worker.work(burst=True))
        finally:
            connection.close()
