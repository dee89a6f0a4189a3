"""Two (or ten) simultaneous confirms by the same human: one approval, one ledger entry, one RQ job."""

from __future__ import annotations

import threading

import httpx
import redis

from spendgate_core.contracts.jobs import APPLY_QUEUE, apply_job_id
from spendgate_core.domain.principals import Principal
from spendgate_core.usecases.deps import CoreDeps
from tests.support.stack import US

from .conftest import Api, propose_increase

CONFIRMS = 10


def test_concurrent_confirms_make_one_approval_and_one_job(
    api: Api, core: CoreDeps, people: dict[str, Principal], redis_client: redis.Redis
) -> None:
    draft_id = propose_increase(core, people["agent"], increase=5_000)
    token = api.arm("alice", draft_id).json()["confirm_token"]
    start = threading.Barrier(CONFIRMS)
    results: list[httpx.Response] = []
    lock = threading.Lock()

    def confirm() -> None:
        with httpx.Client(timeout=30) as client:  # one connection each: truly parallel requests
            start.wait(timeout=10)
            response = client.post(
                f"{api.url}/v1/drafts/{draft_id}/confirm",
                json={"confirm_token": token},
                headers={"Authorization": f"Bearer {api.tokens['alice']}"},
            )
        with lock:
            results.append(response)

    threads = [threading.Thread(target=confirm) for _ in range(CONFIRMS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert [r.status_code for r in results] == [200] * CONFIRMS, [
        r.text for r in results if r.status_code != 200
    ]
    assert {r.json()["version"] for r in results} == {3}
    assert {r.json()["status"] for r in results} == {"approved"}
    draft = core.store.get(draft_id)
    assert len(draft.approvals) == 1
    confirms = [e for e in core.ledger.latest(account_id=US, limit=50) if e.action == "confirm"]
    assert len(confirms) == 1
    job_id = apply_job_id(draft_id, 3)
    assert [j.decode() for j in redis_client.lrange(f"rq:queue:{APPLY_QUEUE}", 0, -1)] == [job_id]
    assert [k.decode() for k in redis_client.keys("rq:job:*")] == [f"rq:job:{job_id}"]
