"""Principals: who may call spendgate, loaded from the principals file (tokens stored as SHA-256)."""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from spendgate_core.domain.models import PrincipalKind
from spendgate_core.errors import ConfigError

Scope = Literal["mcp.read", "mcp.draft"]
Role = Literal["viewer", "approver", "admin"]


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token(prefix: str) -> str:
    """A fresh bearer token; the prefix says at a glance what kind of principal holds it."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: PrincipalKind
    token_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    scopes: tuple[Scope, ...] = ()
    roles: tuple[Role, ...] = ()
    accounts: tuple[str, ...] = ()
    slack_user_id: str | None = None

    @field_validator("accounts")
    @classmethod
    def _no_empty_accounts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not a for a in value):
            raise ValueError("account ids must be non-empty")
        return value

    @property
    def is_human(self) -> bool:
        return self.kind == "human"

    def sees(self, account_id: str) -> bool:
        return "*" in self.accounts or account_id in self.accounts

    def may_decide(self, account_id: str) -> bool:
        """Only humans with an approver or admin role for the account ever decide; agents never."""
        return self.is_human and bool({"approver", "admin"} & set(self.roles)) and self.sees(account_id)

    def has_scope(self, scope: Scope) -> bool:
        return self.kind == "agent" and scope in self.scopes


class PrincipalsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    principal: list[Principal] = []


def parse_principals(text: str, *, source: str) -> list[Principal]:
    try:
        parsed = PrincipalsFile.model_validate(tomllib.loads(text))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        first = str(exc).splitlines()
        raise ConfigError(f"principals file {source} is malformed: {' '.join(first[:3])}") from None
    names = [p.name for p in parsed.principal]
    if len(names) != len(set(names)):
        raise ConfigError(f"principals file {source} names a principal twice")
    return parsed.principal


class PrincipalDirectory:
    """Looks principals up by token, re-reading the file when it changes (so `principal add` takes effect)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._mtime_ns = -1
        self._by_digest: dict[str, Principal] = {}
        self._by_name: dict[str, Principal] = {}
        self._reload_if_changed()

    def _reload_if_changed(self) -> None:
        try:
            mtime_ns = os.stat(self._path).st_mtime_ns
        except OSError as exc:
            raise ConfigError(f"principals file {self._path} cannot be read: {exc.strerror}") from None
        if mtime_ns == self._mtime_ns:
            return
        with self._lock:
            principals = parse_principals(self._path.read_text("utf-8"), source=str(self._path))
            self._by_digest = {p.token_sha256: p for p in principals}
            self._by_name = {p.name: p for p in principals}
            self._mtime_ns = mtime_ns

    def authenticate(self, token: str) -> Principal | None:
        if not token or len(token) > 512:
            return None
        self._reload_if_changed()
        return self._by_digest.get(token_digest(token))

    def by_name(self, name: str) -> Principal | None:
        self._reload_if_changed()
        return self._by_name.get(name)

    def by_slack_user(self, slack_user_id: str) -> Principal | None:
        self._reload_if_changed()
        return next((p for p in self._by_name.values() if p.slack_user_id == slack_user_id), None)


def render_principal(principal: Principal) -> str:
    """One `[[principal]]` TOML table, for appending to the principals file."""
    lines = [
        "[[principal]]",
        f"name = {_toml_str(principal.name)}",
        f'kind = "{principal.kind}"',
        f'token_sha256 = "{principal.token_sha256}"',
    ]
    if principal.scopes:
        lines.append(f"scopes = [{', '.join(_toml_str(s) for s in principal.scopes)}]")
    if principal.roles:
        lines.append(f"roles = [{', '.join(_toml_str(r) for r in principal.roles)}]")
    lines.append(f"accounts = [{', '.join(_toml_str(a) for a in principal.accounts)}]")
    if principal.slack_user_id:
        lines.append(f"slack_user_id = {_toml_str(principal.slack_user_id)}")
    return "\n".join(lines) + "\n"


def _toml_str(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
