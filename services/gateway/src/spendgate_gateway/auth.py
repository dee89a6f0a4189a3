"""Who is calling: bearer tokens checked against the principals file; only agents may use MCP."""

from __future__ import annotations

from contextvars import ContextVar

from fastmcp.server.auth import AccessToken, TokenVerificationError, TokenVerifier
from fastmcp.server.dependencies import get_access_token

from spendgate_core.domain.principals import Principal, PrincipalDirectory, Scope
from spendgate_core.errors import ConfigError, Unauthenticated

READ_SCOPE: Scope = "mcp.read"
DRAFT_SCOPE: Scope = "mcp.draft"

# The principal the verifier found for this request's token, so the tool need not look it up again.
_VERIFIED: ContextVar[tuple[str, Principal] | None] = ContextVar("spendgate_verified_principal", default=None)


class PrincipalTokenVerifier(TokenVerifier):
    """Bearer tokens from the principals file. Every request needs `mcp.read` (else HTTP 401).

    Humans are refused outright: they approve in the console, and no token type lets anything that
    speaks MCP count as a human.
    """

    def __init__(self, directory: PrincipalDirectory) -> None:
        super().__init__(required_scopes=[READ_SCOPE])
        self._directory = directory

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            principal = self._directory.authenticate(token)
        except ConfigError as exc:  # the file vanished or broke: we cannot tell, which is not "invalid"
            raise TokenVerificationError(exc.message) from None
        if principal is None or principal.kind != "agent":
            return None
        _VERIFIED.set((token, principal))
        return AccessToken(
            token=token,
            client_id=principal.name,
            scopes=list(principal.scopes),
            expires_at=None,
            claims={"kind": principal.kind},
        )


def current_principal(directory: PrincipalDirectory) -> Principal:
    """The agent behind this request's token, as verified for this very request (the principals file is
    re-read per request, so a revoked token stops working at once)."""
    token = get_access_token()
    verified = _VERIFIED.get()
    if token is not None and verified is not None and verified[0] == token.token:
        principal: Principal | None = verified[1]
    else:
        principal = directory.authenticate(token.token) if token is not None else None
    if principal is None or not principal.has_scope(READ_SCOPE):
        raise Unauthenticated("this request carries no valid spendgate agent token")
    return principal
