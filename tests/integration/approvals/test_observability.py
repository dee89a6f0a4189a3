"""Request ids follow each HTTP request; the ledger watch exports whether the ledger verifies."""

from __future__ import annotations

import redis

from spendgate_approvals.observability import LedgerWatch
from spendgate_core.metrics import LEDGER_VERIFY_OK
from spendgate_core.usecases.deps import CoreDeps

from .conftest import Api


def test_every_response_carries_a_request_id(api: Api) -> None:
    fresh = api.call("alice", "GET", "/v1/drafts")
    assert fresh.headers["X-Request-Id"].startswith("req_")
    kept = api.call("alice", "GET", "/v1/drafts", headers={"X-Request-Id": "proxy-42"})
    assert kept.headers["X-Request-Id"] == "proxy-42"
    forged = api.call(None, "GET", "/v1/drafts", headers={"X-Request-Id": 'x" {"level":"fake"}'})
    assert forged.status_code == 401 and forged.headers["X-Request-Id"].startswith("req_")


def test_the_ledger_watch_reports_a_tampered_ledger(core: CoreDeps, redis_client: redis.Redis) -> None:
    for n in range(3):
        core.ledger.append(
            actor="alice@example.com", action="read", account_id="acc_us_001", details={"n": n}
        )
    watch = LedgerWatch(core.ledger)
    watch.check()
    assert LEDGER_VERIFY_OK._value.get() == 1
    redis_client.lset(
        "sg:ledger:entries", 1, redis_client.lindex("sg:ledger:entries", 1).replace(b"alice", b"mallo")
    )  # type: ignore[union-attr]
    watch.check()
    assert LEDGER_VERIFY_OK._value.get() == 0
