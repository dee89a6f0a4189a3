"""What a proposal would change, worked out from live values: the pure rules every draft is built by
(a budget change, a shift between two campaigns, a pause or an enable, and the amounts they take)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from spendgate_core.domain.models import CampaignStatus, Change, ChangeField, DraftKind
from spendgate_core.domain.money import format_money, to_minor
from spendgate_core.domain.platform import Account, Campaign
from spendgate_core.errors import Conflict, InvalidInput


@dataclass(frozen=True)
class Proposal:
    """What a proposal would change, worked out from the live values: the draft's kind, changes and
    net daily-budget delta."""

    kind: DraftKind
    changes: tuple[Change, ...]
    delta: int


def shift_amount(
    amount: Decimal | str, *, account: Account, from_campaign_id: str, to_campaign_id: str
) -> int:
    """The amount to move, in minor units, refused before any platform read if it cannot be a shift."""
    moved = to_minor(amount, account.currency)
    if moved <= 0:
        raise InvalidInput("amount must be greater than zero")
    if from_campaign_id == to_campaign_id:
        raise InvalidInput("from_campaign_id and to_campaign_id must be different campaigns")
    return moved


def budget_amounts(
    account: Account, new_daily_budget: Decimal | str, expected_current_budget: Decimal | str | None
) -> tuple[int, int | None]:
    """The new and the expected budget in minor units, refused before any platform read if malformed."""
    new = to_minor(new_daily_budget, account.currency)
    if expected_current_budget is None:
        return new, None
    return new, to_minor(expected_current_budget, account.currency)


def budget_change(campaign: Campaign, *, new: int, expected: int | None, currency: str) -> Proposal:
    if expected is not None and expected != campaign.daily_budget:
        raise Conflict(
            f"expected_current_budget: {campaign.id} has "
            f"{format_money(campaign.daily_budget, currency)} live, "
            f"not {format_money(expected, currency)}; re-read it and propose again"
        )
    if new == campaign.daily_budget:
        raise InvalidInput(f"{campaign.id} already has a daily budget of {format_money(new, currency)}")
    change = Change(
        entity_id=campaign.id, field=ChangeField.DAILY_BUDGET, before=campaign.daily_budget, after=new
    )
    return Proposal(DraftKind.BUDGET_CHANGE, (change,), new - campaign.daily_budget)


def budget_shift(source: Campaign, target: Campaign, *, moved: int) -> Proposal:
    if source.status is not CampaignStatus.ENABLED:
        # Budget taken from a paused campaign was not being spent: moving it is a pure increase.
        raise InvalidInput(
            f"{source.id} is {source.status.value}, so its budget is not being spent; "
            "propose a budget change for the target instead"
        )
    # The decrease is written first: if the increase then fails, nothing was added to spend.
    changes = (
        Change(
            entity_id=source.id,
            field=ChangeField.DAILY_BUDGET,
            before=source.daily_budget,
            after=source.daily_budget - moved,
        ),
        Change(
            entity_id=target.id,
            field=ChangeField.DAILY_BUDGET,
            before=target.daily_budget,
            after=target.daily_budget + moved,
        ),
    )
    return Proposal(DraftKind.BUDGET_SHIFT, changes, 0)


def status_change(campaign: Campaign, new_status: CampaignStatus) -> Proposal:
    if campaign.status is new_status:
        raise InvalidInput(f"{campaign.id} is already {new_status.value}")
    # Enabling a paused campaign starts spending its daily budget: it counts as an increase.
    delta = campaign.daily_budget if new_status is CampaignStatus.ENABLED else -campaign.daily_budget
    change = Change(
        entity_id=campaign.id,
        field=ChangeField.STATUS,
        before=campaign.status.value,
        after=new_status.value,
        budget_basis=campaign.daily_budget,
    )
    return Proposal(DraftKind.STATUS_CHANGE, (change,), delta)
