"""The web console served for real: the approvals app under uvicorn on the `world` (real Redis, real adsim).

Drafts are created the way the gateway creates them (core use cases on `build_core` deps); people use
the console over HTTP (`Person`, an httpx client with its own cookie jar) or in Chromium (test_browser).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest
import redis

from spendgate_approvals.app import create_app
from spendgate_core.contracts.jobs import APPLY_QUEUE
from spendgate_core.domain.models import Draft
from spendgate_core.domain.principals import Principal
from spendgate_core.usecases.deps import CoreDeps
from tests.integration.approvals.conftest import MovableClock, settings_for
from tests.support import drafting
from tests.support.servers import serve_in_thread
from tests.support.stack import World

QUEUE_KEY = f"rq:queue:{APPLY_QUEUE}"
_HIDDEN = r'name="{name}" value="([^"]*)"'


def hidden(html: str, name: str) -> str:
    """The value of the first hidden form field called `name` on a page."""
    found = re.search(_HIDDEN.format(name=re.escape(name)), html)
    assert found, f"no {name} field on the page"
    return found.group(1)


def queued_jobs(client: redis.Redis) -> list[str]:
    return [j.decode() for j in client.lrange(QUEUE_KEY, 0, -1)]


def session_keys(client: redis.Redis) -> list[str]:
    return sorted(k.decode() for k in client.scan_iter("sg:session:*"))


@dataclass
class Person:
    """One human at the console over plain HTTP: their own cookies, no redirects followed."""

    url: str
    token: str
    client: httpx.Client = field(repr=False)
    last: httpx.Response | None = None

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        self.last = self.client.get(f"{self.url}{path}", **kwargs)
        return self.last

    def post(self, path: str, data: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        self.last = self.client.post(f"{self.url}{path}", data=data or {}, **kwargs)
        return self.last

    def sign_in(self, token: str | None = None) -> httpx.Response:
        form = self.get("/console/login")
        assert form.status_code == 200, form.text
        answer = self.post(
            "/console/login",
            {
                "token": token if token is not None else self.token,
                "login_csrf": hidden(form.text, "login_csrf"),
            },
        )
        return answer

    def csrf(self, path: str = "/console/") -> str:
        page = self.get(path)
        assert page.status_code == 200, page.text
        return hidden(page.text, "csrf_token")

    def act(self, draft_id: str, action: str, **fields: str) -> httpx.Response:
        """Open the draft page (as a person would), then submit one of its forms with the page's token."""
        token = self.csrf(f"/console/drafts/{draft_id}")
        return self.post(f"/console/drafts/{draft_id}/{action}", {"csrf_token": token, **fields})

    def arm(self, draft_id: str) -> httpx.Response:
        page = self.get(f"/console/drafts/{draft_id}")
        fields = {"csrf_token": hidden(page.text, "csrf_token"), "version": hidden(page.text, "version")}
        return self.post(f"/console/drafts/{draft_id}/arm", fields)

    def approve(self, draft_id: str) -> httpx.Response:
        armed = self.arm(draft_id)
        assert armed.status_code == 303, armed.text
        return self.act(draft_id, "confirm")


@pytest.fixture
def console_url(world: World, clock: MovableClock) -> Iterator[str]:
    app = create_app(settings_for(world), clock=clock)
    with serve_in_thread(app) as url:
        yield url


@pytest.fixture
def person(world: World, console_url: str) -> Iterator[Any]:
    """`person("alice")`: a fresh, signed-out human at the console (each with its own cookie jar)."""
    clients: list[httpx.Client] = []

    def make(who: str) -> Person:
        client = httpx.Client(timeout=30, follow_redirects=False)
        clients.append(client)
        return Person(url=console_url, token=getattr(world.tokens, who, who), client=client)

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def alice(person: Any) -> Person:
    alice: Person = person("alice")
    assert alice.sign_in().status_code == 303
    return alice


def propose(core: CoreDeps, agent: Principal, *, account: str, increase: int, at_least: int = 0) -> Draft:
    """A pending budget_change of +`increase` minor units on a campaign where that is within 50%."""
    drafts = core.store.list(accounts=frozenset({account}), status=None, limit=200)
    busy = {change.entity_id for draft in drafts for change in draft.changes}
    for campaign in core.reader.list_campaigns(account):
        if campaign.id in busy or campaign.daily_budget < max(at_least, 2 * increase):
            continue
        exponent = 0 if account == "acc_jp_003" else -2
        return drafting.propose_budget_change(
            deps=core,
            principal=agent,
            account_id=account,
            campaign_id=campaign.id,
            new_daily_budget=Decimal(campaign.daily_budget + increase).scaleb(exponent),
            reason="more reach for a strong week",
        )
    raise AssertionError(f"no free campaign in {account} can take +{increase}")
