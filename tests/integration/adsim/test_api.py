"""adsim over real HTTP: tokens, ETags, idempotency, concurrency, out-of-band edits, reset, validation."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from tests.integration.adsim.conftest import READ, WRITE

SEED = 7
CAMPAIGN = "/v1/accounts/acc_us_001/campaigns/cmp_us_001"


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]


def writes(sim: httpx.Client) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = sim.get("/_sim/writes").json()["writes"]
    return result


def test_health_and_accounts(reader: httpx.Client, sim: httpx.Client) -> None:
    assert sim.get("/healthz").json() == {"ok": True}
    accounts = reader.get("/v1/accounts").json()["accounts"]
    assert [(a["id"], a["currency"], a["status"]) for a in accounts] == [
        ("acc_us_001", "USD", "ACTIVE"),
        ("acc_eu_002", "EUR", "ACTIVE"),
        ("acc_jp_003", "JPY", "ACTIVE"),
    ]


def test_reads_take_either_token_and_writes_only_the_write_token(
    base_url: str, reader: httpx.Client, writer: httpx.Client, sim: httpx.Client
) -> None:
    missing = httpx.get(base_url + "/v1/accounts")
    assert_error(missing, 401, "unauthorized")
    assert missing.headers["www-authenticate"] == "Bearer"
    assert_error(
        httpx.get(base_url + "/v1/accounts", headers={"Authorization": "Bearer nope"}), 401, "unauthorized"
    )
    assert_error(httpx.get(base_url + "/v1/accounts", headers={"Authorization": READ}), 401, "unauthorized")
    assert reader.get(CAMPAIGN).status_code == 200
    assert writer.get(CAMPAIGN).status_code == 200
    assert_error(reader.patch(CAMPAIGN, json={"daily_budget": 5_000}), 403, "forbidden")
    assert_error(httpx.patch(base_url + CAMPAIGN, json={"daily_budget": 5_000}), 401, "unauthorized")
    assert writes(sim) == []
    assert writer.patch(CAMPAIGN, json={"daily_budget": 5_000}).status_code == 200


def test_campaigns_are_listed_in_order_with_their_etags(reader: httpx.Client) -> None:
    campaigns = reader.get("/v1/accounts/acc_jp_003/campaigns").json()["campaigns"]
    assert len(campaigns) >= 30
    assert [c["id"] for c in campaigns] == sorted(c["id"] for c in campaigns)
    assert {c["status"] for c in campaigns} == {"ENABLED", "PAUSED"}
    assert all(3_000 <= c["daily_budget"] <= 400_000 and c["etag"] == '"1"' for c in campaigns)
    assert all(c["updated_at"].endswith("Z") for c in campaigns)
    one = reader.get("/v1/accounts/acc_jp_003/campaigns/" + campaigns[0]["id"])
    assert one.headers["etag"] == '"1"'
    assert one.json()["id"] == campaigns[0]["id"]


def test_unknown_accounts_and_campaigns_are_404(reader: httpx.Client, writer: httpx.Client) -> None:
    assert_error(reader.get("/v1/accounts/acc_xx_404/campaigns"), 404, "not_found")
    assert_error(reader.get("/v1/accounts/acc_us_001/campaigns/cmp_eu_001"), 404, "not_found")
    assert_error(
        writer.patch("/v1/accounts/acc_us_001/campaigns/cmp_us_999", json={"status": "PAUSED"}),
        404,
        "not_found",
    )
    assert_error(reader.get("/v1/nothing-here"), 404, "not_found")


def test_if_match_must_be_current(writer: httpx.Client, sim: httpx.Client) -> None:
    original = writer.get(CAMPAIGN).json()["daily_budget"]
    first = writer.patch(CAMPAIGN, json={"daily_budget": 4_000}, headers={"If-Match": '"1"'})
    assert first.status_code == 200
    assert first.headers["etag"] == first.json()["etag"] == '"2"'
    assert first.json()["daily_budget"] == 4_000
    assert_error(
        writer.patch(CAMPAIGN, json={"daily_budget": 4_500}, headers={"If-Match": '"1"'}),
        412,
        "precondition_failed",
    )
    assert (
        writer.patch(CAMPAIGN, json={"status": "PAUSED"}, headers={"If-Match": "*"}).headers["etag"] == '"3"'
    )
    same = writer.patch(CAMPAIGN, json={"status": "PAUSED", "daily_budget": 4_000})
    assert same.status_code == 200 and same.headers["etag"] == '"3"' and same.json()["spend_today"] == 0
    assert [(w["field"], w["old"], w["new"]) for w in writes(sim)] == [
        ("daily_budget", original, 4_000),
        ("status", "ENABLED", "PAUSED"),
    ]


def test_concurrent_patches_with_the_same_if_match_have_one_winner(base_url: str, sim: httpx.Client) -> None:
    contenders = 8
    barrier = threading.Barrier(contenders)
    statuses: list[int] = []

    def contend(budget: int) -> None:
        with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {WRITE}"}) as client:
            client.get("/healthz")  # connect first, so the PATCHes race for real
            barrier.wait()
            response = client.patch(CAMPAIGN, json={"daily_budget": budget}, headers={"If-Match": '"1"'})
            statuses.append(response.status_code)

    threads = [threading.Thread(target=contend, args=(10_000 + i,)) for i in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [200] + [412] * (contenders - 1)
    assert len(writes(sim)) == 1


def test_an_idempotent_replay_returns_the_first_answer_and_writes_once(
    writer: httpx.Client, sim: httpx.Client
) -> None:
    headers = {"Idempotency-Key": "drf_01-v3", "If-Match": '"1"'}
    first = writer.patch(CAMPAIGN, json={"daily_budget": 6_000}, headers=headers)
    assert first.status_code == 200 and "idempotent-replayed" not in first.headers
    replay = writer.patch(CAMPAIGN, json={"daily_budget": 6_000}, headers=headers)
    assert replay.status_code == 200
    assert replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.headers["etag"] == '"2"'
    log = writes(sim)
    assert [(w["field"], w["new"], w["idempotency_key"], w["source"]) for w in log] == [
        ("daily_budget", 6_000, "drf_01-v3", "api")
    ]
    reused = writer.patch(CAMPAIGN, json={"daily_budget": 6_500}, headers={"Idempotency-Key": "drf_01-v3"})
    assert_error(reused, 422, "idempotency_key_reused")
    assert_error(
        writer.patch(CAMPAIGN, json={"daily_budget": 1}, headers={"Idempotency-Key": "k" * 256}),
        422,
        "validation_error",
    )
    assert len(writes(sim)) == 1


def test_an_out_of_band_change_bumps_the_etag(writer: httpx.Client, sim: httpx.Client) -> None:
    changed = sim.post("/_sim/campaigns/acc_us_001/cmp_us_001", json={"daily_budget": 9_900})
    assert changed.status_code == 200 and changed.json()["etag"] == '"2"'
    assert writer.get(CAMPAIGN).headers["etag"] == '"2"'
    assert_error(
        writer.patch(CAMPAIGN, json={"daily_budget": 9_000}, headers={"If-Match": '"1"'}),
        412,
        "precondition_failed",
    )
    assert [(w["source"], w["new"], w["idempotency_key"]) for w in writes(sim)] == [("oob", 9_900, None)]
    assert_error(
        sim.post("/_sim/campaigns/acc_us_001/cmp_us_001", json={"daily_budget": 0}), 422, "validation_error"
    )


def test_reset_restores_campaigns_and_clears_writes_and_faults(
    writer: httpx.Client, sim: httpx.Client
) -> None:
    original = writer.get(CAMPAIGN).json()
    writer.patch(CAMPAIGN, json={"daily_budget": 2_500}, headers={"Idempotency-Key": "once"})
    sim.post("/_sim/faults", json={"latency_ms": 1}).raise_for_status()
    assert sim.post("/_sim/reset").status_code == 200
    after = writer.get(CAMPAIGN).json()
    assert {k: v for k, v in after.items() if k != "spend_today"} == {
        k: v for k, v in original.items() if k != "spend_today"
    }
    assert writes(sim) == []
    assert sim.get("/_sim/faults").json()["latency_ms"] == 0
    # The idempotency record went too: the same key writes afresh.
    assert (
        "idempotent-replayed"
        not in writer.patch(
            CAMPAIGN, json={"daily_budget": 2_500}, headers={"Idempotency-Key": "once"}
        ).headers
    )


@pytest.mark.parametrize(
    "body",
    [
        b'{"daily_budget": true}',
        b'{"daily_budget": 12.5}',
        b'{"daily_budget": 100.0}',
        b'{"daily_budget": -5}',
        b'{"daily_budget": 0}',
        b'{"daily_budget": 1000000000001}',
        b'{"daily_budget": "5000"}',
        b'{"daily_budget": null}',
        b'{"status": "DELETED"}',
        b'{"daily_budget": 5000, "bid": 3}',
        b"{}",
        b"[]",
        b'"PAUSED"',
        b"5000",
        b"null",
        b"{not json",
        b"",
    ],
)
def test_bad_bodies_are_422_in_the_error_shape(writer: httpx.Client, sim: httpx.Client, body: bytes) -> None:
    response = writer.patch(CAMPAIGN, content=body, headers={"Content-Type": "application/json"})
    assert_error(response, 422, "validation_error")
    assert writes(sim) == []


def test_bad_fault_settings_are_422(sim: httpx.Client) -> None:
    for body in ({"error_status": 404}, {"error_rate": 2}, {"scope": "some"}, {"latency_ms": 1.5}, {"x": 1}):
        assert_error(sim.post("/_sim/faults", json=body), 422, "validation_error")
    assert_error(
        sim.post("/_sim/faults", content=b"[1]", headers={"Content-Type": "application/json"}),
        422,
        "validation_error",
    )
