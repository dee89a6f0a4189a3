"""Draft events without sockets: the payload shape, the subscriber URL display, outbound configuration."""

from __future__ import annotations

import re

import pytest

from spendgate_core.adapters.events import display_url
from spendgate_core.contracts.events import OUTBOUND_TYPES, event_payload
from spendgate_core.contracts.views import draft_view
from spendgate_core.errors import ConfigError
from spendgate_executor.events.config import EventSettings, event_config
from tests.unit.core.factories import T0, budget_draft

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_payload_shape() -> None:
    draft = budget_draft()
    payload = event_payload(type="draft.created", draft=draft, now=T0, url="http://x/console/drafts/1")
    assert set(payload) == {"id", "type", "created_at", "data"}
    assert re.fullmatch(r"evt_[0-9A-HJKMNP-TV-Z]{26}", payload["id"])
    assert payload["created_at"] == "2026-11-25T12:00:00+00:00"
    assert payload["data"] == draft_view(draft, url="http://x/console/drafts/1")


def test_outbound_types_are_the_specs() -> None:
    assert {
        "draft.created",
        "draft.approved",
        "draft.rejected",
        "draft.applied",
        "draft.apply_failed",
        "draft.stale",
        "draft.expired",
    } == OUTBOUND_TYPES


def test_display_url_drops_credentials_and_query() -> None:
    assert display_url("https://user:pw@hooks.example.com:8443/in/spend?token=abc#x") == (
        "https://hooks.example.com:8443/in/spend"
    )


def test_event_config() -> None:
    config = event_config(
        EventSettings(
            event_subscribers=" https://a.example/h , http://b.example:9/x,https://a.example/h,",
            event_secret=SECRET,
        )
    )
    assert config.subscribers == ("https://a.example/h", "http://b.example:9/x")
    assert config.webhook is not None and config.max_attempts == 10
    assert event_config(EventSettings()).subscribers == ()


@pytest.mark.parametrize(
    ("subscribers", "secret", "message"),
    [
        ("ftp://a.example/h", SECRET, "not an http"),
        ("https://", SECRET, "not an http"),
        ("https://a.example/with space", SECRET, "not an http"),
        ("https://a.example/h", None, "SPENDGATE_EVENT_SECRET is not"),
        ("https://a.example/h", "whsec_c2hvcnQ=", "at least 24"),
    ],
)
def test_bad_event_config(subscribers: str, secret: str | None, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        event_config(EventSettings(event_subscribers=subscribers, event_secret=secret))
