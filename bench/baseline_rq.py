"""The baseline for the executor: a bare RQ `SimpleWorker` whose job makes the requests an apply makes.

An apply of one change is, on the wire to adsim: GET the campaign (value + ETag), PATCH it with
`If-Match` and `Idempotency-Key`, GET it again to read back (the bench counts these from the executor's
`spendgate_upstream_requests_total` and adsim's writes log rather than assuming them). This job does
exactly those three requests with the same HTTP client settings (`adsim_client`), and nothing else: no
leases, no draft store, no policy, no ledger.

`python -m bench.baseline_rq --queue NAME` runs the worker (SPENDGATE_REDIS_URL, SPENDGATE_ADSIM_URL and
SPENDGATE_ADSIM_WRITE_TOKEN from the environment), the same way the executor's entrypoint runs its own:
JSON serializer, `work(burst=False, logging_level="INFO", with_scheduler=False)`.
"""

from __future__ import annotations

import argparse
import os
from urllib.parse import quote

import httpx
import redis
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer

from spendgate_core.adapters.platforms.adsim import adsim_client

JOB = "bench.baseline_rq.apply_like"
_client: httpx.Client | None = None


def _http() -> httpx.Client:
    global _client
    if _client is None:  # one keep-alive client per worker process, as the executor keeps
        _client = adsim_client(os.environ["SPENDGATE_ADSIM_URL"], os.environ["SPENDGATE_ADSIM_WRITE_TOKEN"])
    return _client


def apply_like(account_id: str, campaign_id: str, field: str, value: int | str, key: str) -> str:
    """GET, conditional idempotent PATCH, GET: the three upstream requests of one applied change."""
    client = _http()
    path = f"/v1/accounts/{quote(account_id, safe='')}/campaigns/{quote(campaign_id, safe='')}"
    live = client.get(path).raise_for_status()
    client.patch(
        path, json={field: value}, headers={"If-Match": live.headers["etag"], "Idempotency-Key": key}
    ).raise_for_status()
    back = client.get(path).raise_for_status().json()
    return "applied" if back[field] == value else "mismatch"


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.baseline_rq")
    parser.add_argument("--queue", required=True)
    args = parser.parse_args()
    connection = redis.Redis.from_url(
        os.environ["SPENDGATE_REDIS_URL"],
        socket_timeout=5,
        socket_connect_timeout=3,
        health_check_interval=30,
    )
    queue = Queue(args.queue, connection=connection, serializer=JSONSerializer)
    worker = SimpleWorker([queue], connection=connection, serializer=JSONSerializer)
    worker.work(burst=False, logging_level="INFO", with_scheduler=False)


if __name__ == "__main__":
    main()
