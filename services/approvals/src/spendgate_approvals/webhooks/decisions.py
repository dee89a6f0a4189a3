"""`POST /v1/webhooks/decisions`: parse a verified decision body, carry it out as the named human through
core (`deciding.decide_at_once`), map the result.

Trust model: the external system holds `SPENDGATE_WEBHOOK_SECRET` and is trusted to have run its own
two-step approval with the named human before it sends `approve`; spendgate then arms and confirms in
one request, as that human, on channel `webhook`. Everything else still applies unchanged: the approver
must be a human with the approver or admin role for the draft's account and not its proposer, policy
is re-checked at confirm, and four eyes still holds — above the threshold two *distinct* humans must
approve (two webhooks naming two approvers, or one webhook plus another channel).
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator
from standardwebhooks import Webhook

from spendgate_core.contracts.jobs import ApplyQueue
from spendgate_core.contracts.views import draft_view
from spendgate_core.contracts.webhooks import checked_webhook_secret
from spendgate_core.domain.models import Channel, DraftStatus
from spendgate_core.domain.principals import PrincipalDirectory
from spendgate_core.errors import Forbidden
from spendgate_core.usecases.deciding import decide_at_once
from spendgate_core.usecases.deps import CoreDeps

CHANNEL: Channel = "webhook"


def decision_webhook(secret: str | None) -> Webhook | None:
    """The verifier for `SPENDGATE_WEBHOOK_SECRET`, None when unset; ConfigError when unusable."""
    if secret is None:
        return None
    return Webhook(checked_webhook_secret(secret, setting="SPENDGATE_WEBHOOK_SECRET"))


def _printable(value: str) -> str:
    if any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in value):
        raise ValueError("must not contain control characters")
    return value


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    draft_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    version: Annotated[int, Field(strict=True, ge=1, le=10**9, description="the draft version decided on")]
    decision: Literal["approve", "reject"]
    approver: Annotated[
        str, StringConstraints(min_length=1, max_length=200), Field(description="a human principal's name")
    ]
    reason: (
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
            AfterValidator(_printable),
        ]
        | None
    ) = None

    @model_validator(mode="after")
    def _reject_needs_a_reason(self) -> DecisionBody:
        if self.decision == "reject" and self.reason is None:
            raise ValueError("a reject needs a reason")
        return self


def decide(
    *, deps: CoreDeps, principals: PrincipalDirectory, queue: ApplyQueue, body: DecisionBody
) -> dict[str, Any]:
    """Carry out the decision; the response body. Raises SpendgateError (status via the error table)."""
    principal = principals.by_name(body.approver)
    if principal is None or not principal.is_human:
        raise Forbidden(f"approver {body.approver!r} is not a human principal of this spendgate")
    decided = decide_at_once(
        deps=deps,
        principal=principal,
        draft_id=body.draft_id,
        version=body.version,
        decision=body.decision,
        reason=body.reason,
        channel=CHANNEL,
        queue=queue,
    )
    return {
        "decision": body.decision,
        "approved": decided.status is DraftStatus.APPROVED,
        "draft": draft_view(decided, url=deps.draft_url(decided.id)),
    }
