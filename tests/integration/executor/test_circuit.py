"""The per-account circuit breaker: repeated upstream failures pause an account, a probe resumes it."""

from __future__ import annotations

import httpx
from prometheus_client import generate_latest

from spendgate_core.domain.models import DraftStatus
from spendgate_core.metrics import UPSTREAM_REQUESTS
from spendgate_executor.applying import Outcome, apply_draft
from spendgate_executor.observability import ScrapeTimeGauges, serve_metrics
from tests.integration.executor.harness import Harness
from tests.support.stack import US


def _upstream_calls() -> float:
    return sum(
        sample.value
        for metric in UPSTREAM_REQUESTS.collect()
        for sample in metric.samples
        if sample.name.endswith("_total") and sample.labels["platform"] == "adsim"
    )


def test_repeated_failures_open_the_circuit_and_a_probe_closes_it(harness: Harness) -> None:
    deps = harness.configure(SPENDGATE_CIRCUIT_FAILURE_THRESHOLD="2", SPENDGATE_CIRCUIT_COOLDOWN_SECONDS="30")
    draft = harness.approve(harness.propose_change("cmp_us_001", delta=1000))
    harness.faults(error_rate=1.0, error_status=503, scope="all")

    assert apply_draft(deps, draft.id) is Outcome.RETRY
    assert not deps.breaker.is_open(US)
    harness.clock.advance(seconds=1)
    assert apply_draft(deps, draft.id) is Outcome.RETRY
    assert deps.breaker.is_open(US)

    # While open, applies for the account wait without calling the platform at all.
    harness.clock.advance(seconds=1)
    calls = _upstream_calls()
    assert apply_draft(deps, draft.id) is Outcome.DEFERRED
    assert _upstream_calls() == calls
    assert deps.retries.attempts(draft.id) == 2  # a paused apply does not spend its retry budget
    scrape = generate_latest(ScrapeTimeGauges(deps)).decode()
    assert f'spendgate_circuit_open{{account="{US}"}} 1.0' in scrape

    # After the cool-down one probe goes through; the platform has recovered, so the circuit closes.
    harness.faults()
    harness.clock.advance(seconds=31)
    assert apply_draft(deps, draft.id) is Outcome.APPLIED
    assert not deps.breaker.is_open(US)
    assert harness.get(draft.id).status is DraftStatus.APPLIED
    scrape = generate_latest(ScrapeTimeGauges(deps)).decode()
    assert f'spendgate_circuit_open{{account="{US}"}} 0.0' in scrape


def test_a_failed_probe_opens_the_circuit_again(harness: Harness) -> None:
    deps = harness.configure(SPENDGATE_CIRCUIT_FAILURE_THRESHOLD="1", SPENDGATE_CIRCUIT_COOLDOWN_SECONDS="10")
    draft = harness.approve(harness.propose_change("cmp_us_003", delta=1000))
    harness.faults(error_rate=1.0, error_status=500, scope="all")

    assert apply_draft(deps, draft.id) is Outcome.RETRY
    assert deps.breaker.is_open(US)
    harness.clock.advance(seconds=11)
    assert apply_draft(deps, draft.id) is Outcome.RETRY  # the probe, and it failed
    harness.clock.advance(seconds=5)
    assert apply_draft(deps, draft.id) is Outcome.DEFERRED  # a fresh cool-down started at the probe
    assert not deps.breaker.allow(US, now=harness.clock.now())


def test_metrics_and_health_are_served_over_http(harness: Harness) -> None:
    deps = harness.executor
    harness.approve(harness.propose_change("cmp_us_005", delta=1000))  # one job waiting
    server = serve_metrics(ScrapeTimeGauges(deps), host="127.0.0.1", port=0)
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        assert httpx.get(f"{base}/healthz").json() == {"ok": True}
        metrics = httpx.get(f"{base}/metrics").text
        assert 'spendgate_queue_depth{queue="spendgate-apply"} 1.0' in metrics
        assert 'spendgate_queue_depth{queue="spendgate-apply-retry"} 0.0' in metrics
        assert "spendgate_applies_total" in metrics
    finally:
        server.shutdown()
        server.server_close()
