"""adsim over real HTTP: fault injection (errors, rate limit, latency, lost answers) and insights ranges."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

SEED = 11
CAMPAIGN = "/v1/accounts/acc_eu_002/campaigns/cmp_eu_001"
INSIGHTS = "/v1/accounts/acc_eu_002/insights"


def set_faults(sim: httpx.Client, **faults: Any) -> dict[str, Any]:
    response = sim.post("/_sim/faults", json=faults)
    assert response.status_code == 200, response.text
    active: dict[str, Any] = response.json()
    return active


def test_faults_are_set_read_back_and_cleared(sim: httpx.Client) -> None:
    active = set_faults(sim, error_rate=0.5, scope="writes")
    assert active == sim.get("/_sim/faults").json()
    assert active["error_rate"] == 0.5 and active["error_status"] == 503 and active["scope"] == "writes"
    cleared = set_faults(sim)
    assert cleared["error_rate"] == 0 and cleared["rate_limit_per_s"] is None and cleared["scope"] == "all"


@pytest.mark.parametrize("status", [500, 503, 599])
def test_error_rate_one_fails_every_request_with_the_status(
    writer: httpx.Client, sim: httpx.Client, status: int
) -> None:
    set_faults(sim, error_rate=1, error_status=status)
    response = writer.get(CAMPAIGN)
    assert response.status_code == status
    assert response.json()["error"]["message"]
    assert_not_written = writer.patch(CAMPAIGN, json={"status": "PAUSED"})
    assert assert_not_written.status_code == status
    assert sim.get("/_sim/writes").json()["writes"] == []
    assert sim.get("/healthz").status_code == 200


def test_an_injected_429_says_when_to_retry(writer: httpx.Client, sim: httpx.Client) -> None:
    set_faults(sim, error_rate=1, error_status=429)
    response = writer.get(CAMPAIGN)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert response.headers["retry-after"] == "1"


def test_fault_scope_limits_which_requests_fail(writer: httpx.Client, sim: httpx.Client) -> None:
    set_faults(sim, error_rate=1, scope="writes")
    assert writer.get(CAMPAIGN).status_code == 200
    assert writer.patch(CAMPAIGN, json={"status": "PAUSED"}).status_code == 503
    set_faults(sim, error_rate=1, scope="reads")
    assert writer.get(CAMPAIGN).status_code == 503
    assert writer.patch(CAMPAIGN, json={"status": "PAUSED"}).status_code == 200


def test_the_rate_limit_answers_429_with_retry_after(writer: httpx.Client, sim: httpx.Client) -> None:
    set_faults(sim, rate_limit_per_s=0.25)
    assert writer.get(CAMPAIGN).status_code == 200
    limited = writer.get(CAMPAIGN)
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 4
    set_faults(sim, rate_limit_per_s=2)
    statuses = [writer.get(CAMPAIGN).status_code for _ in range(6)]
    assert statuses[:2] == [200, 200] and 429 in statuses


def test_latency_delays_requests(writer: httpx.Client, sim: httpx.Client) -> None:
    set_faults(sim, latency_ms=300)
    started = time.perf_counter()
    assert writer.get(CAMPAIGN).status_code == 200
    assert time.perf_counter() - started >= 0.3
    started = time.perf_counter()
    sim.get("/_sim/writes")
    assert time.perf_counter() - started < 0.3


def test_a_dropped_answer_still_applies_and_a_replay_returns_the_stored_result(
    writer: httpx.Client, sim: httpx.Client
) -> None:
    set_faults(sim, drop_after_write_rate=1)
    headers = {"Idempotency-Key": "drf_lost-v2", "If-Match": '"1"'}
    lost = writer.patch(CAMPAIGN, json={"daily_budget": 77_700}, headers=headers)
    assert lost.status_code == 504
    assert lost.json()["error"]["code"] == "gateway_timeout"
    log = sim.get("/_sim/writes").json()["writes"]
    assert [(w["new"], w["idempotency_key"]) for w in log] == [(77_700, "drf_lost-v2")]
    replay = writer.patch(CAMPAIGN, json={"daily_budget": 77_700}, headers=headers)
    assert replay.status_code == 200
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["daily_budget"] == 77_700 and replay.headers["etag"] == '"2"'
    assert len(sim.get("/_sim/writes").json()["writes"]) == 1
    set_faults(sim)
    assert writer.get(CAMPAIGN).json()["daily_budget"] == 77_700


def insights(writer: httpx.Client, **params: str) -> httpx.Response:
    return writer.get(INSIGHTS, params=params)


def days_ago(n: int) -> str:
    return (datetime.now(UTC).date() - timedelta(days=n)).isoformat()


def test_insights_cover_ninety_days_ending_yesterday(writer: httpx.Client) -> None:
    rows = insights(writer, since=days_ago(120), until=days_ago(-5)).json()["rows"]
    assert len(rows) == 90
    assert rows[0]["date"] == days_ago(90) and rows[-1]["date"] == days_ago(1)
    assert all(r["campaign_id"] is None for r in rows)
    fields = ("impressions", "clicks", "spend", "conversions", "conversion_value")
    assert all(isinstance(r[f], int) and r[f] >= 0 for r in rows for f in fields)
    (total,) = insights(writer, since=days_ago(120), until=days_ago(-5), granularity="total").json()["rows"]
    assert total["date"] is None and total["campaign_id"] is None
    assert all(total[f] == sum(r[f] for r in rows) for f in fields)


def test_insights_for_one_campaign(writer: httpx.Client) -> None:
    rows = insights(writer, campaign="cmp_eu_001", since=days_ago(7), until=days_ago(1)).json()["rows"]
    assert [r["date"] for r in rows] == [days_ago(n) for n in range(7, 0, -1)]
    assert {r["campaign_id"] for r in rows} == {"cmp_eu_001"}
    again = insights(writer, campaign="cmp_eu_001", since=days_ago(7), until=days_ago(1)).json()["rows"]
    assert again == rows
    missing = insights(writer, campaign="cmp_us_001", since=days_ago(7), until=days_ago(1))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_insights_outside_the_window_have_no_rows(writer: httpx.Client) -> None:
    assert insights(writer, since="2001-01-01", until="2001-12-31").json() == {"rows": []}
    assert insights(writer, since=days_ago(0), until=days_ago(-30), granularity="total").json() == {
        "rows": []
    }


@pytest.mark.parametrize(
    "params",
    [
        {"since": days_ago(1), "until": days_ago(2)},
        {"since": days_ago(400), "until": days_ago(1)},
        {"since": "2024-1-01", "until": "2024-01-31"},
        {"since": "2024-02-30", "until": "2024-03-01"},
        {"since": "20240101", "until": "2024-03-01"},
        {"since": "yesterday", "until": "2024-03-01"},
        {"until": "2024-03-01"},
        {"since": "2024-03-01", "until": "2024-03-01", "granularity": "week"},
    ],
)
def test_bad_insight_ranges_are_422(writer: httpx.Client, params: dict[str, str]) -> None:
    response = insights(writer, **params)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_a_full_366_day_range_is_allowed(writer: httpx.Client) -> None:
    until = date.fromisoformat(days_ago(1))
    response = insights(writer, since=(until - timedelta(days=365)).isoformat(), until=until.isoformat())
    assert response.status_code == 200 and len(response.json()["rows"]) == 90
