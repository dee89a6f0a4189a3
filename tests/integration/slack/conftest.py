"""Slack flows for real: the approval service (uvicorn) with Slack on, a local fake of Slack's Web API that
records every call, the real `WebClient` pointed at it, and clicks signed exactly as Slack signs them.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
import pytest
import redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from spendgate_approvals.app import create_app
from spendgate_approvals.settings import ApprovalsSettings
from spendgate_core.domain.principals import Principal, PrincipalDirectory
from spendgate_core.runtime.bootstrap import adsim_reader, build_core, redis_client, redis_keys
from spendgate_core.usecases.deps import CoreDeps
from tests.support import drafting
from tests.support.clock import MovableClock
from tests.support.servers import serve_in_thread
from tests.support.stack import ADSIM_READ_TOKEN, US, World
from tests.support.waiting import eventually

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-spendgate-test"
CHANNEL = "C0SPEND"


@dataclass
class FakeSlack:
    """Speaks the Slack Web API wire format for chat.postMessage / chat.update / chat.postEphemeral."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    fail_next: list[str] = field(default_factory=list)  # Slack error codes to answer next, in order
    _ts: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def app(self) -> Starlette:
        async def method(request: Request) -> JSONResponse:
            name = request.path_params["method"]
            if request.headers.get("authorization") != f"Bearer {BOT_TOKEN}":
                return JSONResponse({"ok": False, "error": "invalid_auth"})
            raw = await request.body()
            if request.headers.get("content-type", "").startswith("application/json"):
                args = json.loads(raw)
            else:
                args = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            with self.lock:
                self.calls.append((name, args))
                if self.fail_next:
                    return JSONResponse({"ok": False, "error": self.fail_next.pop(0)})
                ts = f"1700000000.{next(self._ts):06d}"
            if name == "chat.postMessage":
                return JSONResponse({"ok": True, "channel": CHANNEL, "ts": ts, "message": {"ts": ts}})
            if name == "chat.update":
                return JSONResponse({"ok": True, "channel": args["channel"], "ts": args["ts"]})
            if name == "chat.postEphemeral":
                return JSONResponse({"ok": True, "message_ts": ts})
            return JSONResponse({"ok": False, "error": "unknown_method"})

        return Starlette(routes=[Route("/api/{method}", method, methods=["POST"])])

    def of(self, name: str) -> list[dict[str, Any]]:
        with self.lock:
            return [args for called, args in self.calls if called == name]

    def wait_for(self, name: str, count: int = 1, *, timeout: float = 10.0) -> list[dict[str, Any]]:
        def arrived() -> list[dict[str, Any]]:
            calls = self.of(name)
            assert len(calls) >= count, f"expected {count} {name} call(s), got {self.calls}"
            return calls

        return eventually(arrived, timeout=timeout, what=f"{count} {name} call(s)")


def action_ids(blocks: list[dict[str, Any]]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def sign(body: bytes, timestamp: int, secret: str = SIGNING_SECRET) -> dict[str, str]:
    """Headers exactly as Slack sends them (v0: HMAC-SHA256 over `v0:<ts>:<body>`)."""
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


_action_ts = itertools.count(1)


def click_body(user: str, action_id: str, draft_id: str, *, action_ts: str | None = None) -> bytes:
    """A block_actions interaction payload as Slack posts it (form field `payload`, JSON)."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": "T0TEST"},
        "team": {"id": "T0TEST", "domain": "test"},
        "api_app_id": "A0SPEND",
        "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": CHANNEL},
        "channel": {"id": CHANNEL, "name": "spend"},
        "trigger_id": "1.2.3",
        "response_url": "https://hooks.slack.invalid/actions/T0TEST/1/x",
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "spendgate-1",
                "value": draft_id,
                "action_ts": action_ts or f"1700000100.{next(_action_ts):06d}",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


@dataclass
class SlackWorld:
    url: str
    fake_url: str
    redis: redis.Redis
    http: httpx.Client
    clock: MovableClock
    core: CoreDeps
    fake: FakeSlack
    people: dict[str, Principal]

    def post(
        self, body: bytes, *, timestamp: int | None = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        ts = int(self.clock.now().timestamp()) if timestamp is None else timestamp
        return self.http.post(
            f"{self.url}/v1/slack/interactions",
            content=body,
            headers=headers if headers is not None else sign(body, ts),
        )

    def click(self, user: str, action_id: str, draft_id: str, **kwargs: Any) -> httpx.Response:
        return self.post(click_body(user, action_id, draft_id, **kwargs))

    def propose(self, *, increase: int = 5_000, skip: int = 0) -> str:
        agent = self.people["agent"]
        candidates = [
            c for c in self.core.reader.list_campaigns(US) if 2 * increase <= c.daily_budget <= 900_000
        ]
        campaign = candidates[skip]
        draft = drafting.propose_budget_change(
            deps=self.core,
            principal=agent,
            account_id=US,
            campaign_id=campaign.id,
            new_daily_budget=Decimal(campaign.daily_budget + increase).scaleb(-2),
            reason="more reach for a strong week <b>&</b>",
        )
        return draft.id

    def wait(self, condition: Callable[[], bool], *, timeout: float = 10.0, what: str = "condition") -> None:
        eventually(condition, timeout=timeout, what=what)


def settings_for(world: World, **overrides: Any) -> ApprovalsSettings:
    return world.settings(ApprovalsSettings, **overrides)


@pytest.fixture
def fake_slack() -> Iterator[tuple[FakeSlack, str]]:
    fake = FakeSlack()
    with serve_in_thread(fake.app()) as url:
        yield fake, url


@pytest.fixture
def slack(world: World, fake_slack: tuple[FakeSlack, str]) -> Iterator[SlackWorld]:
    fake, fake_url = fake_slack
    clock = MovableClock()
    settings = settings_for(
        world,
        slack_signing_secret=SIGNING_SECRET,
        slack_bot_token=BOT_TOKEN,
        slack_api_url=f"{fake_url}/api/",
        slack_channel=CHANNEL,
    )
    client = redis_client(settings)
    reader = adsim_reader(settings, ADSIM_READ_TOKEN)
    core = build_core(settings, client=client, reader=reader, clock=clock, keys=redis_keys(settings))
    directory = PrincipalDirectory(world.principals_file)
    people = {n: p for n, t in vars(world.tokens).items() if (p := directory.authenticate(t)) is not None}
    with serve_in_thread(create_app(settings, clock=clock)) as url, httpx.Client(timeout=30) as http:
        yield SlackWorld(
            url=url,
            fake_url=fake_url,
            redis=client,
            http=http,
            clock=clock,
            core=core,
            fake=fake,
            people=people,
        )
    reader.close()
    client.close()
