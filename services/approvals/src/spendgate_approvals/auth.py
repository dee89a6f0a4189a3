"""Who is calling: a bearer token resolved against the principals file; only humans use this API."""

from __future__ import annotations

from spendgate_core.domain.principals import Principal, PrincipalDirectory
from spendgate_core.errors import Forbidden, Unauthenticated


def authenticate_human(directory: PrincipalDirectory, token: str | None) -> Principal:
    """The human principal holding `token`.

    No or unknown token → Unauthenticated (401). An agent token → Forbidden (403) on every endpoint,
    reads included: the approval side is for people, and no scope lets an AI principal in.
    """
    principal = directory.authenticate(token) if token else None
    if principal is None:
        raise Unauthenticated("send Authorization: Bearer <token> with a human principal's token")
    if not principal.is_human:
        raise Forbidden(f"{principal.name} is an agent; only human principals may use the approval API")
    return principal
