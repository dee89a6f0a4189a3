"""Every Redis key spendgate writes, spelled once, from one namespace.

The namespace is the first part of every key (`SPENDGATE_REDIS_NAMESPACE`, `sg` unless set: `sg:draft:…`,
`sg:ledger:entries`); `runtime.bootstrap.redis_keys` builds the one `Keys` of a process from it and the
wiring hands it to every adapter. On Redis Cluster give a hash-tagged namespace such as `{sg}`: Cluster
hashes only what is between the braces, so every key below lands in one slot and each script and
transaction, whose keys must share a slot, works there as on a single Redis. RQ's keys (`rq:…`, the
queue names in `contracts.jobs`) are RQ's own and stay outside the namespace.

A key that scripts derive inside Lua (the old status index of a saved draft) is built from a prefix given
here, so it stays in the namespace too; so do the sub-keys a `duework.DueSet` derives from its base key.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

# Plain characters, with at most one `{hash tag}` anywhere in it: no `:` (the separator of the parts
# below), no spaces or glob characters (operators scan `<namespace>:*`), no second or empty tag.
_PLAIN = r"[A-Za-z0-9_.-]"
NAMESPACE_PATTERN = re.compile(rf"{_PLAIN}*(?:\{{{_PLAIN}+\}})?{_PLAIN}*")
NAMESPACE_MAX = 64


def check_namespace(namespace: str) -> str:
    """`namespace` if it can prefix every key; ValueError saying why not."""
    if not namespace or len(namespace) > NAMESPACE_MAX or not NAMESPACE_PATTERN.fullmatch(namespace):
        raise ValueError(
            f"{namespace!r} is not a key namespace: 1 to {NAMESPACE_MAX} of A-Z a-z 0-9 . _ -, "
            "with at most one {hash tag} (e.g. sg or {sg})"
        )
    return namespace


@dataclass(frozen=True)
class Keys:
    namespace: str

    def __post_init__(self) -> None:
        check_namespace(self.namespace)

    def _k(self, *parts: str) -> str:
        return ":".join((self.namespace, *parts))

    # the draft store ------------------------------------------------------------------------------------
    def draft(self, draft_id: str) -> str:
        return self._k("draft", draft_id)

    def lock(self, field_key: str) -> str:
        """Held by the one open or in-flight draft that changes this campaign field."""
        return self._k("lock", field_key)

    def open_drafts(self, account_id: str) -> str:
        return self._k("open", account_id)

    def all_drafts(self) -> str:
        return self._k("drafts")

    def drafts_of_account(self, account_id: str) -> str:
        return self._k("drafts", "account", account_id)

    def status_index_prefix(self) -> str:
        return self._k("drafts", "status", "")

    def drafts_with_status(self, status: str) -> str:
        return self.status_index_prefix() + status

    def expiry_index(self) -> str:
        """Open drafts scored by expires_at, so the sweep finds the due ones."""
        return self._k("drafts", "expiry")

    def envelope(self, account_id: str) -> str:
        return self._k("envelope", account_id)

    def envelope_held(self, draft_id: str) -> str:
        """The envelope member this draft holds."""
        return self._k("envelope", "held", draft_id)

    # the ledger -----------------------------------------------------------------------------------------
    def ledger_entries(self) -> str:
        return self._k("ledger", "entries")

    def ledger_head(self) -> str:
        return self._k("ledger", "head")

    def ledger_account_prefix(self) -> str:
        return self._k("ledger", "account", "")

    def ledger_account(self, account_id: str) -> str:
        return self.ledger_account_prefix() + account_id

    # the event stream and its readers -------------------------------------------------------------------
    def events(self) -> str:
        return self._k("events")

    def event_marker(self, draft_id: str, version: int) -> str:
        """Set once (draft, version) was announced."""
        return self._k("events", "seen", draft_id, str(version))

    def deliveries(self) -> str:
        """The capped log of outbound webhook deliveries the console shows."""
        return self._k("events", "deliveries")

    def deliveries_due(self) -> str:
        """The due set of outbound deliveries (`adapters.duework`; its items name event and URL)."""
        return self._k("events", "due")

    def event_body(self, event_id: str) -> str:
        return self._k("events", "body", event_id)

    def reconcile_lock(self) -> str:
        return self._k("events", "reconcile", "lock")

    # the executor ---------------------------------------------------------------------------------------
    def lease(self, draft_id: str) -> str:
        return self._k("lease", draft_id)

    def circuit(self, account_id: str) -> str:
        """Hash `failures`, `open_until` (epoch ms; absent or 0 = closed)."""
        return self._k("circuit", account_id)

    def circuit_probe(self, account_id: str) -> str:
        return self._k("circuit", account_id, "probe")

    def circuit_accounts(self) -> str:
        """Every account whose circuit ever failed."""
        return self._k("circuit", "accounts")

    def apply_retries(self) -> str:
        return self._k("apply", "retry")

    def apply_attempts(self) -> str:
        return self._k("apply", "attempts")

    def apply_last_error(self) -> str:
        return self._k("apply", "last_error")

    def apply_job(self) -> str:
        return self._k("apply", "job")

    def apply_seq(self) -> str:
        return self._k("apply", "seq")

    def sweep_lock(self) -> str:
        return self._k("sweep", "lock")

    # the approval service -------------------------------------------------------------------------------
    def session(self, session_id: str) -> str:
        # Only the digest: a copy of Redis must not hold session ids that sign anyone in.
        return self._k("session", hashlib.sha256(session_id.encode()).hexdigest())

    def slack(self, *parts: str) -> str:
        """The Slack channel's state: `msg:{draft}`, `confirm:{draft}:{user}`, `seen:{digest}`,
        `lock:{draft}`."""
        return self._k("slack", *parts)

    def slack_retries(self) -> str:
        """The due set of Slack message updates that failed and wait for another try."""
        return self._k("slack", "retry")

    def webhook_inbox(self, webhook_id: str) -> str:
        return self._k("webhooks", "in", hashlib.sha256(webhook_id.encode()).hexdigest())
