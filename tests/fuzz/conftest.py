"""Fuzz fixtures: the real services (uvicorn, real Redis, real adsim) and a few real drafts to aim at.

Every property here is bounded in examples and derandomized, so `make test` stays fast and repeatable;
raise `FUZZ_EXAMPLES` locally for a longer hunt.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from spendgate_approvals.app import create_app
from spendgate_approvals.settings import ApprovalsSettings
from spendgate_core.domain.principals import PrincipalDirectory, new_token, token_digest
from spendgate_core.runtime.bootstrap import adsim_reader, build_core, redis_client, redis_keys
from tests.support import drafting
from tests.support.servers import serve_in_thread
from tests.support.stack import ADSIM_READ_TOKEN, US, World

# Examples per property (per operation, per tool, per endpoint). Small by default: this folder is part of
# `make test` and must stay well under two minutes.
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))

FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,  # real servers over real sockets: timing varies, correctness does not
    derandomize=True,  # the same examples on every run; a failure reproduces without a database
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


# alice's token in the fuzz worlds, known at import so Schemathesis' auth configuration can hold it (the
# `world` fixture draws fresh tokens per test).
ALICE_TOKEN = new_token("sgh")


@dataclass(frozen=True)
class Drafts:
    """Real drafts proposed by the agent: alice and bob may decide them."""

    pending: str
    other: str


def propose_drafts(world: World) -> Drafts:
    settings_ = world.settings(ApprovalsSettings)
    client = redis_client(settings_)
    reader = adsim_reader(settings_, ADSIM_READ_TOKEN)
    try:
        core = build_core(settings_, client=client, reader=reader, keys=redis_keys(settings_))
        agent = PrincipalDirectory(world.principals_file).authenticate(world.tokens.agent)
        assert agent is not None
        campaigns = [c for c in reader.list_campaigns(US) if 10_000 <= c.daily_budget <= 900_000]
        ids = [
            drafting.propose_budget_change(
                deps=core,
                principal=agent,
                account_id=US,
                campaign_id=campaign.id,
                new_daily_budget=Decimal(campaign.daily_budget + 1_000).scaleb(-2),
                reason="fuzz: a real draft to aim at",
            ).id
            for campaign in campaigns[:2]
        ]
    finally:
        reader.close()
        client.close()
    return Drafts(pending=ids[0], other=ids[1])


@pytest.fixture
def fuzz_world(world: World) -> World:
    """The test's world, with alice holding ALICE_TOKEN."""
    text = world.principals_file.read_text("utf-8")
    old = token_digest(world.tokens.alice)
    assert text.count(old) == 1
    world.principals_file.write_text(text.replace(old, token_digest(ALICE_TOKEN)), "utf-8")
    return dataclasses.replace(world, tokens=dataclasses.replace(world.tokens, alice=ALICE_TOKEN))


@pytest.fixture
def approvals_url(fuzz_world: World) -> Iterator[str]:
    """The approval service (no Slack, no webhooks) served by uvicorn on the world."""
    with serve_in_thread(create_app(fuzz_world.settings(ApprovalsSettings))) as url:
        yield url


@pytest.fixture
def drafts(fuzz_world: World) -> Drafts:
    return propose_drafts(fuzz_world)


def fake_slack_api() -> Starlette:
    """Slack's Web API reduced to `ok: true` for every chat.* call (what a valid click may trigger)."""

    async def method(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"ok": True, "channel": "C0FUZZ", "ts": "1700000000.000001", "message_ts": "1"})

    return Starlette(routes=[Route("/api/{method}", method, methods=["POST"])])
