"""The approver and operator CLI against a running stack: `spendgate drafts|audit|principal …`, as typed."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import redis

from tests.e2e.conftest import Stack
from tests.e2e.flows import US, api_writes, bearer, propose_raise, spendgate, wait_for_status

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]


def as_user(stack: Stack, token: str) -> dict[str, str]:
    return {**stack.env(), "SPENDGATE_TOKEN": token}


async def test_approve_prompts_twice_then_the_change_is_applied_and_the_ledger_verifies(
    stack: Stack, tmp_path: Path
) -> None:
    draft_id, before, after = await propose_raise(stack, "cmp_us_002")
    bob = as_user(stack, stack.tokens.bob)

    listed = spendgate("drafts", "list", "--status", "pending", "--json", env=bob)
    assert listed.returncode == 0, listed.stderr
    assert draft_id in {d["id"] for d in json.loads(listed.stdout)}
    assert draft_id in spendgate("drafts", "list", env=bob).stdout  # the table
    assert draft_id in spendgate("drafts", "list", "-q", env=bob).stdout.splitlines()

    shown = spendgate("drafts", "show", draft_id, env=bob)
    assert shown.returncode == 0, shown.stderr
    assert "cmp_us_002 daily_budget:" in shown.stdout

    approved = spendgate("drafts", "approve", draft_id, env=bob, stdin="y\ny\n")
    assert approved.returncode == 0, approved.stderr
    assert f"Arm draft {draft_id} (version 1)? [y/N]" in approved.stderr
    assert "Confirm — push live? [y/N]" in approved.stderr
    assert "approved:" in approved.stdout
    wait_for_status(stack, draft_id, stack.tokens.bob, "applied")
    assert [(w["old"], w["new"]) for w in api_writes(stack, "cmp_us_002")] == [(before, after)]

    verified = spendgate("audit", "verify", env=stack.env())
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("ledger ok:")
    export = tmp_path / "ledger.jsonl"
    exported = spendgate("audit", "export", "--output", str(export), env=stack.env())
    assert exported.returncode == 0, exported.stderr
    entries = [json.loads(line) for line in export.read_text().splitlines()]
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert {"arm", "confirm"} <= {e["action"] for e in entries if e["draft_id"] == draft_id}

    rollback = spendgate("drafts", "rollback", draft_id, env=as_user(stack, stack.tokens.alice))
    assert rollback.returncode == 0, rollback.stderr
    rollback_id = rollback.stdout.split("rollback staged as ")[1].split(";")[0]
    rejected = spendgate("drafts", "reject", rollback_id, "--reason", "keep the raise", env=bob)
    assert rejected.returncode == 0, rejected.stderr
    final = wait_for_status(stack, rollback_id, stack.tokens.bob, "rejected")
    assert final["decision_reason"] == "keep the raise"


async def test_declining_either_question_writes_nothing(stack: Stack) -> None:
    draft_id, _, _ = await propose_raise(stack, "cmp_us_003")
    alice = as_user(stack, stack.tokens.alice)

    declined = spendgate("drafts", "approve", draft_id, env=alice, stdin="n\n")
    assert declined.returncode == 1
    assert "not armed; nothing changed" in declined.stderr
    silent = spendgate("drafts", "approve", draft_id, env=alice, stdin="")
    assert silent.returncode == 2
    assert "pass --yes" in silent.stderr

    armed_only = spendgate("drafts", "approve", draft_id, env=alice, stdin="y\nn\n")
    assert armed_only.returncode == 1
    assert "armed but not confirmed" in armed_only.stderr
    draft = httpx.get(f"{stack.api_url}/v1/drafts/{draft_id}", headers=bearer(stack.tokens.alice)).json()
    assert draft["status"] in ("pending", "armed") and draft["approvals"] == []
    assert api_writes(stack, "cmp_us_003") == []

    yes = spendgate("drafts", "approve", draft_id, "--yes", "--json", env=alice)
    assert yes.returncode == 0, yes.stderr
    assert json.loads(yes.stdout)["status"] in ("approved", "applying", "applied")


def test_refusals_exit_1_and_usage_problems_exit_2(stack: Stack) -> None:
    agent = spendgate("drafts", "list", env=as_user(stack, stack.tokens.agent))
    assert agent.returncode == 1
    assert "refused (40" in agent.stderr
    bob = as_user(stack, stack.tokens.bob)
    unknown = spendgate("drafts", "show", "drf_00000000000000000000000000", env=bob)
    assert unknown.returncode == 1
    assert "404 not_found" in unknown.stderr
    nowhere = spendgate("drafts", "list", "--url", "http://127.0.0.1:9", env=bob)
    assert nowhere.returncode == 2
    assert "cannot reach the approval API" in nowhere.stderr


def test_a_principal_added_by_the_cli_works_without_a_restart(stack: Stack) -> None:
    added = spendgate(
        "principal", "add", "--name", "dana@example.com", "--kind", "human", "--role", "viewer",
        "--account", US, env=stack.env(),
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip()
    response = httpx.get(f"{stack.api_url}/v1/drafts", headers=bearer(token), timeout=10)
    assert response.status_code == 200, response.text
    assert {d["account_id"] for d in response.json()["drafts"]} <= {US}
    dana_again = ["--name", "dana@example.com", "--kind", "human", "--role", "admin"]
    again = spendgate("principal", "add", *dana_again, env=stack.env())
    assert again.returncode == 2


def test_audit_verify_names_the_first_tampered_entry(stack: Stack) -> None:
    """Runs last in this module: it edits the shared ledger."""
    client = redis.Redis.from_url(stack.world.redis_url)
    try:
        first = json.loads(client.lindex("sg:ledger:entries", 0) or b"{}")
        assert first, "the ledger should have entries by now"
        client.lset("sg:ledger:entries", 0, json.dumps({**first, "actor": "mallory"}))
    finally:
        client.close()
    broken = spendgate("audit", "verify", env=stack.env())
    assert broken.returncode == 1
    assert broken.stdout.startswith("ledger BROKEN at seq 1:")
    as_json = json.loads(spendgate("audit", "verify", "--json", env=stack.env()).stdout)
    assert (as_json["ok"], as_json["first_bad"]) == (False, 1)
