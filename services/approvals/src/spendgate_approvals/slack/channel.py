"""The Slack channel of one approval process: verifier, Web API, state, consumer and click handler."""

from __future__ import annotations

import logging
import os
import secrets
import socket
from dataclasses import dataclass

import redis

from spendgate_approvals.slack.client import SLACK_FAILURES, RequestVerifier, SlackApi, SlackConfig
from spendgate_approvals.slack.interactions import Click, ClickHandler, Reply
from spendgate_approvals.slack.notifier import SlackNotifier, slack_retries
from spendgate_approvals.slack.state import LockBusy, SlackState
from spendgate_core.adapters.keys import Keys
from spendgate_core.contracts.jobs import ApplyQueue
from spendgate_core.domain.clock import Clock
from spendgate_core.domain.principals import PrincipalDirectory
from spendgate_core.usecases.deps import CoreDeps

log = logging.getLogger(__name__)

_REFRESH_FAILURES: tuple[type[Exception], ...] = (*SLACK_FAILURES, LockBusy, redis.RedisError)


@dataclass(frozen=True)
class SlackChannel:
    verifier: RequestVerifier
    api: SlackApi
    state: SlackState
    notifier: SlackNotifier
    clicks: ClickHandler

    def follow_up(self, click: Click, reply: Reply) -> None:
        """After Slack has its 200: tell the user privately, then bring the message up to date.

        Runs as a background task; failures are logged only (the decision itself is already made, and
        the consumer brings the message up to date on the next event of the draft).
        """
        if reply.notice and click.channel:
            try:
                self.api.tell(channel=click.channel, user=click.user, text=reply.notice)
            except SLACK_FAILURES as exc:
                log.warning("could not answer %s in Slack: %s", click.user, exc)
        if reply.refresh:
            try:
                self.notifier.show(click.draft_id)
            except _REFRESH_FAILURES as exc:
                log.warning("could not update the Slack message of %s: %s", click.draft_id, exc)


def open_slack(
    config: SlackConfig,
    *,
    deps: CoreDeps,
    client: redis.Redis,
    keys: Keys,
    principals: PrincipalDirectory,
    queue: ApplyQueue,
    clock: Clock,
) -> SlackChannel:
    """Build (not start) the Slack channel; the app's lifespan starts and stops its consumer."""
    api = SlackApi(config)
    state = SlackState(client, keys=keys)
    consumer = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
    return SlackChannel(
        verifier=RequestVerifier(config.signing_secret, clock=clock),
        api=api,
        state=state,
        notifier=SlackNotifier(
            deps=deps,
            client=client,
            keys=keys,
            api=api,
            state=state,
            retries=slack_retries(client, clock=clock, keys=keys),
            consumer=consumer,
        ),
        clicks=ClickHandler(deps=deps, principals=principals, queue=queue, state=state),
    )
