"""A per-account circuit breaker whose state lives in Redis, so every worker sees the same circuit.

closed ──N consecutive upstream failures──▶ open ──cool-down passes──▶ half-open
   ▲                                          ▲                          │ one probe is let through
   └──────────── the probe (any answer) ──────┴──── the probe fails ─────┘

Only transient upstream failures (timeouts, connection errors, 5xx, 429) count: a 4xx is about the
change, not the platform's health. Any attempt that hears a proper answer closes the circuit.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import redis

from spendgate_core.adapters.commands import Command, Runner
from spendgate_core.adapters.keys import Keys
from spendgate_core.contracts.circuit import CircuitState


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


class Circuits:
    """Reads every account's circuit: what the console shows and the executor's gauges count."""

    def __init__(self, client: redis.Redis, *, keys: Keys) -> None:
        self._r = client
        self._keys = keys
        self._accounts_key = keys.circuit_accounts()

    def state(self, account_id: str) -> CircuitState:
        fields = {_text(k): _text(v) for k, v in self._r.hgetall(self._state_key(account_id)).items()}
        open_until_ms = int(fields.get("open_until") or 0)
        open_until = datetime.fromtimestamp(open_until_ms / 1000, UTC) if open_until_ms > 0 else None
        return CircuitState(account_id, failures=int(fields.get("failures") or 0), open_until=open_until)

    def accounts(self) -> list[str]:
        """Accounts that ever had an upstream failure."""
        return sorted(_text(m) for m in self._r.smembers(self._accounts_key))

    def _state_key(self, account_id: str) -> str:
        return self._keys.circuit(account_id)


class CircuitBreaker(Circuits):
    """Counts an account's upstream failures and decides whether an apply may call the platform."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        failure_threshold: int,
        cooldown_seconds: float,
        probe_seconds: float,
        keys: Keys,
    ) -> None:
        super().__init__(client, keys=keys)
        self._threshold = failure_threshold
        self._cooldown_ms = int(cooldown_seconds * 1000)
        self._probe_ms = int(probe_seconds * 1000)

    def _probe_key(self, account_id: str) -> str:
        return self._keys.circuit_probe(account_id)

    def _open_until_ms(self, account_id: str) -> int:
        return int(self._r.hget(self._state_key(account_id), "open_until") or 0)

    def allow(self, account_id: str, *, now: datetime) -> bool:
        """Whether an apply for the account may call the platform now (the half-open probe takes a token)."""
        open_until = self._open_until_ms(account_id)
        if open_until == 0:
            return True
        if _ms(now) < open_until:
            return False
        # Half-open: exactly one probe at a time; its token lapses if the prober dies without an answer.
        return bool(self._r.set(self._probe_key(account_id), "1", nx=True, px=self._probe_ms))

    def paused_until(self, account_id: str, *, now: datetime) -> datetime:
        """When a paused apply should look again: the end of the cool-down, or soon while a probe runs."""
        open_until = self._open_until_ms(account_id)
        if open_until > _ms(now):
            return now + timedelta(milliseconds=open_until - _ms(now))
        return now + timedelta(milliseconds=min(self._probe_ms, 1000))

    def record_failure(self, account_id: str, *, now: datetime) -> bool:
        """Count a transient upstream failure; True when the circuit is (now) open."""
        # Counted, and opened at the threshold, in one step (lua/circuit_failure.lua): workers fail at once.
        keys = (self._state_key(account_id), self._probe_key(account_id), self._accounts_key)
        args = (_ms(now), self._threshold, self._cooldown_ms, account_id)
        return Runner.of(self._r).run(Command(bool, "circuit_failure", keys, args))

    def record_success(self, account_id: str) -> None:
        """The platform answered properly: close the circuit and forget past failures."""
        self._r.delete(self._state_key(account_id), self._probe_key(account_id))

    def is_open(self, account_id: str) -> bool:
        """Open or half-open: applies for the account are paused (but for a single probe)."""
        return self._open_until_ms(account_id) > 0
