"""Wiring: the approval service's clients and core dependencies, built in one place per process.

`check_config` runs in the entrypoint before serving, so bad configuration is one line, not a
traceback; `open_resources` runs in the app's lifespan and owns every client it opens.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import redis
from redis.asyncio import Redis as AsyncRedis
from standardwebhooks import Webhook

from spendgate_approvals.apply_queue import RqApplyQueue
from spendgate_approvals.settings import ApprovalsSettings
from spendgate_approvals.slack.channel import SlackChannel, open_slack
from spendgate_approvals.slack.client import slack_config
from spendgate_approvals.webhooks.decisions import decision_webhook
from spendgate_approvals.webhooks.inbox import WebhookInbox
from spendgate_core.adapters.keys import Keys
from spendgate_core.adapters.ledger import AsyncLedgerAppender, RedisLedger
from spendgate_core.adapters.store import AsyncDraftStore
from spendgate_core.contracts.jobs import ApplyQueue
from spendgate_core.contracts.signing import LedgerKeyError, load_signing_key
from spendgate_core.domain.clock import Clock
from spendgate_core.domain.policy import PolicyBook
from spendgate_core.domain.principals import PrincipalDirectory
from spendgate_core.errors import ConfigError
from spendgate_core.runtime.bootstrap import (
    adsim_reader,
    async_redis_client,
    build_core,
    redis_client,
    redis_keys,
)
from spendgate_core.usecases.deps import CoreDeps
from spendgate_core.usecases.drafting import DraftWrites


@dataclass(frozen=True)
class Resources:
    """Everything a request handler may need; shared by all requests of one process (all thread-safe)."""

    deps: CoreDeps
    keys: Keys  # the key names of every Redis adapter here (`SPENDGATE_REDIS_NAMESPACE`)
    principals: PrincipalDirectory
    queue: ApplyQueue
    redis: redis.Redis
    # Rollbacks are staged as every draft is (`drafting`), on the app's event loop with this client.
    async_redis: AsyncRedis
    drafting: DraftWrites
    slack: SlackChannel | None = None  # None: Slack is not configured
    decision_webhook: Webhook | None = None  # None: SPENDGATE_WEBHOOK_SECRET is not set
    webhook_inbox: WebhookInbox | None = None


def check_config(settings: ApprovalsSettings) -> None:
    """Read every configured file once, raising ConfigError with one line if any is unusable."""
    PrincipalDirectory(settings.principals_file)
    PolicyBook.load(settings.policy_file)
    try:
        load_signing_key(settings.ledger_key_file)
    except LedgerKeyError as exc:
        raise ConfigError(str(exc)) from None
    slack_config(settings)
    _webhook(settings)


def _webhook(settings: ApprovalsSettings) -> Webhook | None:
    secret = settings.webhook_secret
    return decision_webhook(secret.get_secret_value() if secret else None)


@contextmanager
def open_resources(
    settings: ApprovalsSettings,
    *,
    principals: PrincipalDirectory,
    deps: CoreDeps | None = None,
    clock: Clock | None = None,
) -> Iterator[Resources]:
    """Open the Redis clients, the platform reader (read token) and the RQ queue; close them after (the
    asyncio client is closed by the app's lifespan, on its loop, once `drafting` is drained).

    `deps` replaces the core wiring (its store and ledger bring their own Redis client); `clock`
    is used only when the core is wired here.
    """
    keys = redis_keys(settings)
    client = redis_client(settings)
    async_client = async_redis_client(settings)
    reader = None
    try:
        if deps is None:
            reader = adsim_reader(settings, settings.adsim_read_token.get_secret_value())
            deps = build_core(settings, client=client, keys=keys, reader=reader, clock=clock)
        queue = RqApplyQueue(client)
        slack = slack_config(settings)
        webhook = _webhook(settings)
        if not isinstance(deps.ledger, RedisLedger):
            raise ConfigError("the approval service needs the Redis ledger")
        drafting = DraftWrites(
            store=AsyncDraftStore(async_client, keys=keys),
            ledger=AsyncLedgerAppender(deps.ledger, async_client),
        )
        yield Resources(
            deps=deps,
            keys=keys,
            principals=principals,
            queue=queue,
            redis=client,
            async_redis=async_client,
            drafting=drafting,
            slack=open_slack(
                slack,
                deps=deps,
                client=client,
                keys=keys,
                principals=principals,
                queue=queue,
                clock=deps.clock,
            )
            if slack
            else None,
            decision_webhook=webhook,
            webhook_inbox=WebhookInbox(client, keys=keys) if webhook else None,
        )
    finally:
        if reader is not None:
            reader.close()
        client.close()
