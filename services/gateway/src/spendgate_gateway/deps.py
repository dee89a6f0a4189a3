"""What the gateway's tools need, wired once per process: core use cases, a cached reader, principals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis
from pydantic import JsonValue

from spendgate_core.deps import CoreDeps
from spendgate_core.platforms.reader import PlatformReader
from spendgate_core.principals import Principal, PrincipalDirectory
from spendgate_gateway.auth import current_principal


@dataclass(frozen=True)
class GatewayDeps:
    """`core.reader` is live (draft tools record `before` from it); `reads` is the cached reader."""

    core: CoreDeps
    reads: PlatformReader
    directory: PrincipalDirectory
    redis_client: redis.Redis
    principals_file: Path
    closers: tuple[Callable[[], None], ...] = field(default=())

    def principal(self) -> Principal:
        return current_principal(self.directory)

    def record_read(
        self,
        principal: Principal,
        tool: str,
        *,
        account_id: str | None = None,
        draft_id: str | None = None,
        **arguments: JsonValue,
    ) -> None:
        """One `read` ledger entry per answered read call: who read what (SPEC §9)."""
        self.core.ledger.append(
            actor=principal.name,
            action="read",
            account_id=account_id,
            draft_id=draft_id,
            details={"tool": tool, **{k: v for k, v in arguments.items() if v is not None}},
        )

    def close(self) -> None:
        for close in self.closers:
            close()
