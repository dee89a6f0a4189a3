"""Audit endpoints (ledger entries, chain verification), health, readiness, metrics and the entrypoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest
import redis

from spendgate_core.domain.principals import Principal
from spendgate_core.usecases.deps import CoreDeps
from tests.support.processes import free_port, stop, wait_for_http
from tests.support.stack import EU, US, World

from .conftest import Api, propose_increase


def test_audit_lists_the_callers_entries_newest_first(
    api: Api, core: CoreDeps, people: dict[str, Principal]
) -> None:
    draft_id = propose_increase(core, people["agent"], increase=5_000)
    propose_increase(core, people["agent"], increase=5_000, account=EU)
    api.approve("alice", draft_id)

    us = api.call("viewer", "GET", "/v1/audit", params={"account_id": US})
    assert us.status_code == 200
    entries = us.json()["entries"]
    assert [e["action"] for e in entries] == ["confirm", "arm", "draft"]
    assert {e["draft_id"] for e in entries} == {draft_id}
    assert entries[0]["actor"] == "alice@example.com" and entries[0]["details"]["channel"] == "rest"
    assert set(entries[0]) == {
        "seq",
        "ts",
        "actor",
        "action",
        "account_id",
        "draft_id",
        "details",
        "prev_hash",
        "hash",
        "sig",
    }
    everything = api.call("alice", "GET", "/v1/audit", params={"limit": 2}).json()["entries"]
    assert [e["seq"] for e in everything] == [4, 3]


def test_verify_reports_a_tampered_entry(
    api: Api, core: CoreDeps, people: dict[str, Principal], redis_client: redis.Redis
) -> None:
    for skip in range(3):
        propose_increase(core, people["agent"], increase=5_000, skip=skip)
    assert api.call("viewer", "GET", "/v1/audit/verify").json() == {
        "ok": True,
        "entries": 3,
        "first_bad": None,
        "reason": None,
    }

    raw = json.loads(redis_client.lindex("sg:ledger:entries", 1))  # seq 2
    raw["details"]["reason"] = "a quieter week"
    redis_client.lset("sg:ledger:entries", 1, json.dumps(raw, sort_keys=True, separators=(",", ":")))
    report = api.call("alice", "GET", "/v1/audit/verify")
    assert report.status_code == 200
    assert report.json()["ok"] is False and report.json()["first_bad"] == 2
    assert "entry 2" in report.json()["reason"]


def test_health_readiness_and_metrics(api: Api, core: CoreDeps, people: dict[str, Principal]) -> None:
    assert httpx.get(f"{api.url}/healthz").json() == {"ok": True}
    assert httpx.get(f"{api.url}/readyz").json() == {"ok": True}
    api.approve("alice", propose_increase(core, people["agent"], increase=5_000))
    metrics = httpx.get(f"{api.url}/metrics")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    assert 'spendgate_decisions_total{channel="rest",decision="approve"}' in metrics.text
    schema = httpx.get(f"{api.url}/openapi.json").json()
    assert {"/v1/drafts", "/v1/drafts/{draft_id}/arm", "/v1/audit/verify"} <= set(schema["paths"])


@pytest.mark.process
def test_the_entrypoint_serves_and_refuses_bad_config_in_one_line(world: World) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SPENDGATE_")}
    missing = subprocess.run(
        [sys.executable, "-m", "spendgate_approvals", "--port", str(free_port())],
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert missing.returncode == 2
    assert len(missing.stderr.strip().splitlines()) == 1
    assert "SPENDGATE_PRINCIPALS_FILE" in missing.stderr and "Traceback" not in missing.stderr

    bad_key = {**base, **world.env(), "SPENDGATE_LEDGER_KEY_FILE": str(world.principals_file)}
    refused = subprocess.run(
        [sys.executable, "-m", "spendgate_approvals", "--port", str(free_port())],
        env=bad_key,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "spendgate_approvals", "--host", "127.0.0.1", "--port", str(port)],
        env={**base, **world.env()},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", proc=proc)
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").json() == {"ok": True}
        listed = httpx.get(
            f"http://127.0.0.1:{port}/v1/drafts", headers={"Authorization": f"Bearer {world.tokens.bob}"}
        )
        assert listed.status_code == 200 and listed.json() == {"drafts": []}
    finally:
        stop(proc)
