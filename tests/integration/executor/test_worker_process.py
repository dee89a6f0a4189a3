"""The worker as a process: `python -m spendgate_executor`, several at once, refusing bad config."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from spendgate_core.contracts.jobs import APPLY_JOB
from spendgate_core.domain.models import DraftStatus
from tests.integration.executor.harness import Harness
from tests.support.processes import free_port, wait_for_http
from tests.support.waiting import eventually

pytestmark = pytest.mark.process

WORKER = [sys.executable, "-m", "spendgate_executor"]


def test_two_workers_on_one_queue_make_one_write_per_change(harness: Harness) -> None:
    drafts = [
        harness.approve(harness.propose_change(f"cmp_us_{n:03d}", delta=1000)) for n in (1, 3, 5, 6, 7, 9)
    ]
    for draft in drafts:  # every job three times, under different ids
        for copy in range(2):
            harness.queue.queue.enqueue(APPLY_JOB, draft.id, draft.version, job_id=f"copy{copy}-{draft.id}")
    env = {**os.environ, **harness.world.env()}

    workers = [
        subprocess.Popen([*WORKER, "--burst", "--metrics-port", "0"], env=env, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err.decode()[-2000:]

    assert {harness.get(d.id).status for d in drafts} == {DraftStatus.APPLIED}
    keys = sorted(w["idempotency_key"] for w in harness.api_writes())
    assert keys == sorted(f"{d.id}:0" for d in drafts)


def test_a_long_running_worker_serves_metrics_and_stops_on_sigterm(harness: Harness) -> None:
    draft = harness.approve(harness.propose_change("cmp_us_010", delta=1000))
    port = free_port()
    env = {**os.environ, **harness.world.env()}
    worker = subprocess.Popen([*WORKER, "--metrics-port", str(port)], env=env, stderr=subprocess.PIPE)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", proc=worker)

        def applied() -> bool:
            if worker.poll() is not None:
                pytest.fail("the worker died")
            return harness.get(draft.id).status is DraftStatus.APPLIED

        eventually(applied, timeout=20, interval=0.1, what="the worker to apply the draft")
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert 'spendgate_applies_total{outcome="applied",platform="adsim"} 1.0' in metrics
    finally:
        worker.terminate()
        _, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err.decode()[-2000:]


def test_a_worker_without_its_write_token_refuses_to_start_with_one_line(harness: Harness) -> None:
    env = {
        k: v for k, v in {**os.environ, **harness.world.env()}.items() if k != "SPENDGATE_ADSIM_WRITE_TOKEN"
    }
    done = subprocess.run(
        [*WORKER, "--burst", "--metrics-port", "0"], env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 2
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1
    assert "SPENDGATE_ADSIM_WRITE_TOKEN" in lines[0]
