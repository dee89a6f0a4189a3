"""The proxy the gateway's live reads use: the one the environment names, found once per session."""

from __future__ import annotations

import pytest

from spendgate_core.adapters.platforms.live import env_proxy

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def test_no_proxy_named_means_direct() -> None:
    assert env_proxy("http://adsim:8090") is None


def test_the_proxy_for_the_scheme_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("HTTPS_PROXY", "http://tls-proxy.internal:3128")
    assert env_proxy("http://adsim:8090") == "http://proxy.internal:3128"
    assert env_proxy("https://ads.example.com") == "http://tls-proxy.internal:3128"


def test_all_proxy_is_the_fallback_and_no_proxy_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALL_PROXY", "http://any.internal:3128")
    assert env_proxy("https://ads.example.com") == "http://any.internal:3128"
    monkeypatch.setenv("NO_PROXY", "adsim,.svc.cluster.local")
    assert env_proxy("http://adsim:8090") is None
    assert env_proxy("http://adsim.spendgate.svc.cluster.local:8090") is None
    assert env_proxy("https://ads.example.com") == "http://any.internal:3128"
