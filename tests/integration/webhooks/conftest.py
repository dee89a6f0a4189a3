"""Signed decision webhooks and outbound events for real: the approval service (uvicorn), real Redis and
adsim, requests signed with the `standardwebhooks` library as an external approval system would sign them.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from standardwebhooks import Webhook

from spendgate_approvals.app import create_app
from spendgate_approvals.settings import ApprovalsSettings
from spendgate_core.domain.principals import Principal, PrincipalDirectory
from spendgate_core.runtime.bootstrap import adsim_reader, build_core, redis_client, redis_keys
from spendgate_core.usecases.deps import CoreDeps
from tests.support import drafting
from tests.support.servers import serve_in_thread
from tests.support.stack import ADSIM_READ_TOKEN, US, World

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the Standard Webhooks test-vector secret


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The outbound tests run RQ jobs in-process: RQ's job timeout uses SIGALRM, so pytest-timeout must
    # not (a thread-based timeout cannot clash).
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.timeout(90, method="thread"))


def settings_for(world: World, **overrides: Any) -> ApprovalsSettings:
    return world.settings(ApprovalsSettings, **overrides)


def signed(
    body: bytes, *, msg_id: str | None = None, secret: str = SECRET, at: datetime | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers for `body`, made with the reference library."""
    msg_id = msg_id or f"msg_{secrets.token_hex(8)}"
    at = at or datetime.now(UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id=msg_id, timestamp=at, data=body.decode()),
        "content-type": "application/json",
    }


@dataclass
class Hooks:
    url: str
    http: httpx.Client
    core: CoreDeps
    redis: redis.Redis
    people: dict[str, Principal]

    def send(self, decision: dict[str, Any], **kwargs: Any) -> httpx.Response:
        body = json.dumps(decision).encode()
        return self.post(body, signed(body, **kwargs))

    def post(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return self.http.post(f"{self.url}/v1/webhooks/decisions", content=body, headers=headers)

    def propose(self, *, increase: int = 5_000, skip: int = 0) -> str:
        candidates = [
            c for c in self.core.reader.list_campaigns(US) if 2 * increase <= c.daily_budget <= 900_000
        ]
        campaign = candidates[skip]
        return drafting.propose_budget_change(
            deps=self.core,
            principal=self.people["agent"],
            account_id=US,
            campaign_id=campaign.id,
            new_daily_budget=Decimal(campaign.daily_budget + increase).scaleb(-2),
            reason="shift budget to the best performer",
        ).id

    def ledger_size(self) -> int:
        return int(self.core.ledger.verify().entries)


@pytest.fixture
def core(world: World) -> Iterator[tuple[CoreDeps, redis.Redis]]:
    settings = settings_for(world)
    client = redis_client(settings)
    reader = adsim_reader(settings, ADSIM_READ_TOKEN)
    yield build_core(settings, client=client, reader=reader, keys=redis_keys(settings)), client
    reader.close()
    client.close()


@pytest.fixture
def people(world: World) -> dict[str, Principal]:
    directory = PrincipalDirectory(world.principals_file)
    return {n: p for n, t in vars(world.tokens).items() if (p := directory.authenticate(t)) is not None}


@pytest.fixture
def hooks(world: World, core: tuple[CoreDeps, redis.Redis], people: dict[str, Principal]) -> Iterator[Hooks]:
    deps, client = core
    app = create_app(settings_for(world, webhook_secret=SECRET))
    with serve_in_thread(app) as url, httpx.Client(timeout=30) as http:
        yield Hooks(url=url, http=http, core=deps, redis=client, people=people)
