"""The bench's own hands on the domain: core use cases run in this process to set up drafts and approvals."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from tests.support import drafting
from tests.support.stack import ADSIM_READ_TOKEN, World

from spendgate_approvals.apply_queue import RqApplyQueue
from spendgate_core.adapters.keys import Keys
from spendgate_core.adapters.platforms.adsim import AdsimReader, adsim_client
from spendgate_core.contracts.jobs import ApplyQueue
from spendgate_core.domain.models import CampaignStatus, Draft, DraftStatus
from spendgate_core.domain.money import to_major
from spendgate_core.domain.platform import Campaign
from spendgate_core.domain.principals import Principal, PrincipalDirectory
from spendgate_core.runtime.bootstrap import build_core, redis_keys
from spendgate_core.runtime.settings import ReaderSettings, load_settings
from spendgate_core.usecases import deciding as approval
from spendgate_core.usecases.deps import CoreDeps

ACCOUNTS = ("acc_us_001", "acc_eu_002", "acc_jp_003")


@dataclass
class Hands:
    """Core wired against the scenario's Redis and adsim, plus the agent and a human approver."""

    core: CoreDeps
    keys: Keys
    redis: redis.Redis
    agent: Principal
    alice: Principal
    apply_queue: RqApplyQueue

    def close(self) -> None:
        self.redis.close()

    def campaigns(self) -> list[tuple[str, Campaign]]:
        """Every campaign of every account, live (account id, campaign)."""
        return [(account, c) for account in ACCOUNTS for c in self.core.reader.list_campaigns(account)]

    def currency(self, account_id: str) -> str:
        return self.core.catalog.get(self.agent, account_id).currency

    def withdraw_pending(self) -> int:
        """Withdraw every pending draft (frees their field locks); how many there were."""
        ids = self.core.store.ids_with_status(DraftStatus.PENDING)
        for draft_id in ids:
            drafting.withdraw_draft(
                deps=self.core, principal=self.agent, draft_id=draft_id, reason="bench: next batch"
            )
        return len(ids)

    def propose_budget(self, account_id: str, campaign: Campaign, *, up: bool) -> Draft:
        step = max(1, campaign.daily_budget // 50)  # 2%, at least one minor unit
        new = campaign.daily_budget + step if up else campaign.daily_budget - step
        return drafting.propose_budget_change(
            deps=self.core,
            principal=self.agent,
            account_id=account_id,
            campaign_id=campaign.id,
            new_daily_budget=to_major(new, self.currency(account_id)),
            reason="bench: apply throughput",
        )

    def propose_status(self, account_id: str, campaign: Campaign) -> Draft:
        flipped = (
            CampaignStatus.PAUSED if campaign.status is CampaignStatus.ENABLED else CampaignStatus.ENABLED
        )
        return drafting.propose_status_change(
            deps=self.core,
            principal=self.agent,
            account_id=account_id,
            campaign_id=campaign.id,
            new_status=flipped,
            reason="bench: apply throughput",
        )

    def arm(self, draft: Draft) -> str:
        armed = approval.arm(
            deps=self.core,
            principal=self.alice,
            draft_id=draft.id,
            if_match=f'"{draft.version}"',
            channel="rest",
        )
        return armed.confirm_token

    def confirm(self, draft: Draft, token: str, queue: ApplyQueue | None = None) -> Draft:
        return approval.confirm(
            deps=self.core,
            principal=self.alice,
            draft_id=draft.id,
            confirm_token=token,
            channel="rest",
            queue=queue or self.apply_queue,
        )


def hands(world: World) -> Hands:
    settings = load_settings(
        ReaderSettings,
        redis_url=world.redis_url,
        principals_file=world.principals_file,
        policy_file=world.policy_file,
        ledger_key_file=world.ledger_key_file,
        adsim_url=world.adsim_url,
        adsim_read_token=ADSIM_READ_TOKEN,
    )
    client = redis.Redis.from_url(world.redis_url, socket_timeout=10)
    reader = AdsimReader(adsim_client(world.adsim_url, ADSIM_READ_TOKEN))
    keys = redis_keys(settings)
    core = build_core(settings, client=client, keys=keys, reader=reader)
    directory = PrincipalDirectory(world.principals_file)
    agent = directory.authenticate(world.tokens.agent)
    alice = directory.authenticate(world.tokens.alice)
    assert agent is not None and alice is not None
    return Hands(
        core=core, keys=keys, redis=client, agent=agent, alice=alice, apply_queue=RqApplyQueue(client)
    )
