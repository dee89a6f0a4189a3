"""The approval API served for real: uvicorn in a thread on the `world` (real Redis, real adsim).

Drafts are created the way the gateway creates them: the core use case with deps from `build_core`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest

from spendgate_approvals.app import create_app
from spendgate_approvals.settings import ApprovalsSettings
from spendgate_core.domain import lifecycle
from spendgate_core.domain.principals import Principal
from spendgate_core.usecases.deps import CoreDeps
from tests.support import drafting
from tests.support.clock import MovableClock
from tests.support.servers import serve_in_thread
from tests.support.stack import US, World


@dataclass
class Api:
    """An HTTP client for the served app that knows the world's tokens by name."""

    url: str
    tokens: dict[str, str]
    client: httpx.Client

    def call(self, who: str | None, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if who is not None:
            headers["Authorization"] = f"Bearer {self.tokens.get(who, who)}"
        return self.client.request(method, f"{self.url}{path}", headers=headers, **kwargs)

    def get_draft(self, who: str, draft_id: str) -> httpx.Response:
        return self.call(who, "GET", f"/v1/drafts/{draft_id}")

    def arm(self, who: str, draft_id: str) -> httpx.Response:
        etag = self.get_draft(who, draft_id).headers["ETag"]
        return self.call(who, "POST", f"/v1/drafts/{draft_id}/arm", headers={"If-Match": etag})

    def confirm(self, who: str, draft_id: str, token: str) -> httpx.Response:
        return self.call(who, "POST", f"/v1/drafts/{draft_id}/confirm", json={"confirm_token": token})

    def approve(self, who: str, draft_id: str) -> httpx.Response:
        armed = self.arm(who, draft_id)
        assert armed.status_code == 200, armed.text
        return self.confirm(who, draft_id, armed.json()["confirm_token"])


def settings_for(world: World, **overrides: Any) -> ApprovalsSettings:
    return world.settings(ApprovalsSettings, **overrides)


@pytest.fixture
def api(world: World, clock: MovableClock) -> Iterator[Api]:
    app = create_app(settings_for(world), clock=clock)
    with serve_in_thread(app) as url, httpx.Client(timeout=30) as client:
        yield Api(url=url, tokens=dict(vars(world.tokens)), client=client)


def campaign_with_budget(
    core: CoreDeps, account: str, *, at_least: int, at_most: int = 10**12
) -> tuple[str, int]:
    for campaign in core.reader.list_campaigns(account):
        if at_least <= campaign.daily_budget <= at_most:
            return campaign.id, campaign.daily_budget
    raise AssertionError(f"adsim has no campaign in {account} with a budget in [{at_least}, {at_most}]")


def propose_increase(
    core: CoreDeps, agent: Principal, *, increase: int, account: str = US, skip: int = 0
) -> str:
    """A pending budget_change of +`increase` minor units on a campaign where that is within 50%."""
    candidates = [c for c in core.reader.list_campaigns(account) if 2 * increase <= c.daily_budget <= 900_000]
    campaign = candidates[skip]
    new = Decimal(campaign.daily_budget + increase).scaleb(-2 if account != "acc_jp_003" else 0)
    draft = drafting.propose_budget_change(
        deps=core,
        principal=agent,
        account_id=account,
        campaign_id=campaign.id,
        new_daily_budget=new,
        reason="more reach for a strong week",
    )
    return draft.id


def mark_applied(core: CoreDeps, adsim_url: str, draft_id: str) -> None:
    """Play the executor's part for an approved draft: write `after` upstream and record `applied`."""
    draft = core.store.get(draft_id)
    for change in draft.changes:
        httpx.post(
            f"{adsim_url}/_sim/campaigns/{draft.account_id}/{change.entity_id}",
            json={change.field.value: change.after},
            timeout=10,
        ).raise_for_status()
    now = core.clock.now()
    applying = lifecycle.begin_apply(draft)
    core.store.save(applying, expected_version=draft.version)
    applied = lifecycle.mark_applied(applying, now=now, applied_changes=tuple(range(len(draft.changes))))
    core.store.save(applied, expected_version=applying.version)
