"""A live stack exports every SPEC §11 metric, with bounded labels, once one draft has been applied."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.e2e.conftest import Stack
from tests.e2e.flows import bearer, propose_raise, wait_for_status

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

SPEC_METRICS = {
    "spendgate_mcp_tool_calls_total",
    "spendgate_mcp_tool_duration_seconds",
    "spendgate_drafts_created_total",
    "spendgate_drafts_refused_total",
    "spendgate_decisions_total",
    "spendgate_draft_decision_seconds",
    "spendgate_applies_total",
    "spendgate_apply_seconds",
    "spendgate_upstream_requests_total",
    "spendgate_queue_depth",
    "spendgate_envelope_used_ratio",
    "spendgate_circuit_open",
    "spendgate_ledger_entries_total",
}
SAMPLE = re.compile(r"^(spendgate_[a-z_]+?)(?:_bucket|_count|_sum|_created)?(?:\{(.*)\})? ", re.M)


async def test_every_spec_metric_is_exported_after_one_apply(stack: Stack) -> None:
    draft_id, _, _ = await propose_raise(stack, "cmp_us_003")
    alice = bearer(stack.tokens.alice)
    with httpx.Client(base_url=stack.api_url, timeout=10) as api:
        etag = api.get(f"/v1/drafts/{draft_id}", headers=alice).headers["ETag"]
        token = api.post(f"/v1/drafts/{draft_id}/arm", headers={**alice, "If-Match": etag}).json()[
            "confirm_token"
        ]
        api.post(
            f"/v1/drafts/{draft_id}/confirm", headers=alice, json={"confirm_token": token}
        ).raise_for_status()
    wait_for_status(stack, draft_id, stack.tokens.alice, "applied")

    gateway_metrics = stack.mcp_url.removesuffix("/mcp") + "/metrics"
    exposition = "\n".join(
        httpx.get(url, timeout=10).text
        for url in (gateway_metrics, f"{stack.api_url}/metrics", stack.worker_metrics_url)
    )
    exported = {match.group(1) for match in SAMPLE.finditer(exposition)}
    assert exported >= SPEC_METRICS, f"missing samples: {sorted(SPEC_METRICS - exported)}"
    assert draft_id not in exposition, "labels must never carry draft ids"
    assert 'spendgate_applies_total{outcome="applied",platform="adsim"} 1.0' in exposition
