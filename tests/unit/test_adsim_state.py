"""The in-memory platform: spend pacing, writes, idempotency, If-Match, insights, settings, startup."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from spendgate_adsim.errors import IdempotencyKeyReused, InvalidRequest, NotFound, PreconditionFailed
from spendgate_adsim.faults import FaultSettings
from spendgate_adsim.server import run
from spendgate_adsim.settings import SettingsError, load_settings
from spendgate_adsim.state import Change, Json, Platform, WriteResult


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 14, 12, 0, tzinfo=UTC))


@pytest.fixture
def platform(clock: Clock) -> Platform:
    return Platform(seed=0, clock=clock)


def enabled(platform: Platform) -> Json:
    return next(c for c in platform.campaigns(account_id="acc_us_001") if c["status"] == "ENABLED")


def test_spend_today_paces_with_the_utc_day(platform: Platform, clock: Clock) -> None:
    campaign = enabled(platform)
    budget = campaign["daily_budget"]
    assert 0.6 * budget / 2 - 1 <= campaign["spend_today"] <= 1.15 * budget / 2
    clock.now = clock.now.replace(hour=0)
    assert enabled(platform)["spend_today"] == 0
    paused = [c for c in platform.campaigns(account_id="acc_eu_002") if c["status"] == "PAUSED"]
    assert paused and all(c["spend_today"] == 0 for c in paused)


def test_a_change_bumps_the_etag_and_logs_one_row_per_field(platform: Platform) -> None:
    result = platform.change(
        account_id="acc_us_001",
        campaign_id=str(enabled(platform)["id"]),
        change=Change(daily_budget=12_345, status="PAUSED"),
        source="api",
        if_match='"1"',
    )
    assert result.etag == '"2"' and result.body["etag"] == '"2"' and not result.replayed
    assert [(w["field"], w["new"], w["source"]) for w in platform.writes()] == [
        ("daily_budget", 12_345, "api"),
        ("status", "PAUSED", "api"),
    ]


def test_a_change_that_changes_nothing_is_not_a_write(platform: Platform) -> None:
    body, etag = platform.campaign(account_id="acc_us_001", campaign_id="cmp_us_001")
    budget = body["daily_budget"]
    result = platform.change(
        account_id="acc_us_001", campaign_id="cmp_us_001", change=Change(daily_budget=budget), source="api"
    )
    assert result.etag == etag == '"1"'
    assert platform.writes() == []


def test_if_match_must_name_the_current_etag_or_star(platform: Platform) -> None:
    def patch(budget: int, if_match: str) -> None:
        platform.change(
            account_id="acc_jp_003",
            campaign_id="cmp_jp_001",
            change=Change(daily_budget=budget),
            source="api",
            if_match=if_match,
        )

    with pytest.raises(PreconditionFailed):
        patch(5_000, '"2"')
    patch(5_000, "*")
    patch(6_000, '"9", "2"')
    assert platform.campaign(account_id="acc_jp_003", campaign_id="cmp_jp_001")[1] == '"3"'


def test_idempotency_replays_before_if_match_and_refuses_a_different_body(platform: Platform) -> None:
    def patch(budget: int, campaign: str = "cmp_us_003") -> WriteResult:
        return platform.change(
            account_id="acc_us_001",
            campaign_id=campaign,
            change=Change(daily_budget=budget),
            source="api",
            if_match='"1"',
            idempotency_key="draft-1",
        )

    first = patch(7_000)
    replay = patch(7_000)
    assert replay == WriteResult(first.body, first.etag, replayed=True)
    assert len(platform.writes()) == 1
    with pytest.raises(IdempotencyKeyReused):
        patch(8_000)
    with pytest.raises(IdempotencyKeyReused):
        patch(7_000, campaign="cmp_us_004")


def test_unknown_ids_are_not_found(platform: Platform) -> None:
    with pytest.raises(NotFound):
        platform.campaigns(account_id="acc_xx_999")
    with pytest.raises(NotFound):
        platform.campaign(account_id="acc_us_001", campaign_id="cmp_eu_001")


def test_reset_restores_the_seed(platform: Platform) -> None:
    before = platform.campaigns(account_id="acc_us_001")
    platform.change(
        account_id="acc_us_001", campaign_id="cmp_us_001", change=Change(status="PAUSED"), source="oob"
    )
    platform.reset()
    assert platform.campaigns(account_id="acc_us_001") == before
    assert platform.writes() == []


def test_insights_cover_the_ninety_days_before_today(platform: Platform, clock: Clock) -> None:
    today = clock.now.date()

    def rows(since: date, until: date, granularity: str = "day", campaign: str | None = None) -> list[Json]:
        return platform.insights(
            account_id="acc_us_001", campaign_id=campaign, since=since, until=until, granularity=granularity
        )

    days = rows(today - timedelta(days=200), today + timedelta(days=10))
    assert len(days) == 90
    assert days[0]["date"] == (today - timedelta(days=90)).isoformat()
    assert days[-1]["date"] == (today - timedelta(days=1)).isoformat()
    assert all(row["campaign_id"] is None for row in days)
    (total,) = rows(today - timedelta(days=7), today - timedelta(days=1), "total")
    week = days[-7:]
    assert total["date"] is None
    assert total["spend"] == sum(row["spend"] for row in week)
    assert total["clicks"] == sum(row["clicks"] for row in week)
    assert rows(today, today + timedelta(days=3)) == []
    assert rows(today, today, "total") == []
    one = rows(today - timedelta(days=5), today - timedelta(days=5), campaign="cmp_us_001")
    assert [(r["date"], r["campaign_id"]) for r in one] == [
        ((today - timedelta(days=5)).isoformat(), "cmp_us_001")
    ]
    with pytest.raises(InvalidRequest):
        rows(today, today - timedelta(days=1))
    with pytest.raises(InvalidRequest):
        rows(today - timedelta(days=366), today)
    assert len(rows(today - timedelta(days=365), today)) == 90
    with pytest.raises(NotFound):
        rows(today, today, campaign="cmp_jp_001")

    clock.now += timedelta(days=1)
    assert rows(today, today)[0]["spend"] >= 0
    assert rows(today - timedelta(days=200), today)[:-1] == days[1:]


def test_fault_settings_validate_their_ranges() -> None:
    assert FaultSettings.model_validate({}).error_status == 503
    for bad in (
        {"error_status": 404},
        {"error_rate": 1.5},
        {"error_rate": True},
        {"latency_ms": -1},
        {"rate_limit_per_s": 0},
        {"scope": "both"},
        {"nonsense": 1},
    ):
        with pytest.raises(ValueError):
            FaultSettings.model_validate(bad)


def test_settings_name_the_missing_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPENDGATE_ADSIM_READ_TOKEN", raising=False)
    monkeypatch.setenv("SPENDGATE_ADSIM_WRITE_TOKEN", "w")
    with pytest.raises(SettingsError, match="SPENDGATE_ADSIM_READ_TOKEN is not set") as excinfo:
        load_settings()
    assert "WRITE" not in str(excinfo.value)
    monkeypatch.setenv("SPENDGATE_ADSIM_READ_TOKEN", "sekrit-read")
    settings = load_settings()
    assert settings.read_token.get_secret_value() == "sekrit-read"
    assert "sekrit" not in repr(settings)


def test_run_refuses_to_start_with_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SPENDGATE_ADSIM_READ_TOKEN", "r")
    monkeypatch.delenv("SPENDGATE_ADSIM_WRITE_TOKEN", raising=False)
    with pytest.raises(SystemExit) as excinfo:
        run(host="127.0.0.1", port=0, seed=0)
    assert excinfo.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "SPENDGATE_ADSIM_WRITE_TOKEN" in err
