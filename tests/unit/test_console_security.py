"""The console's CSRF helpers: token comparison, origin normalisation, the browser-signal check, `next`."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from spendgate_approvals.console.csrf import cross_site_reason, origin_of, safe_next, tokens_match

OURS = {"https://approvals.example", "http://127.0.0.1:8081"}


def test_tokens_match_only_the_exact_token() -> None:
    assert tokens_match("abc123", "abc123")
    for given in (None, "", "abc12", "abc1234", "ABC123", "abc123 ", "äbc123", "x" * 300):
        assert not tokens_match("abc123", given), given
    assert not tokens_match("", "")  # a session without a token never matches anything


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://Approvals.Example/console/", "https://approvals.example"),
        ("https://approvals.example:443", "https://approvals.example"),
        ("http://approvals.example:80/x", "http://approvals.example"),
        ("http://127.0.0.1:8081/", "http://127.0.0.1:8081"),
        ("https://approvals.example:8443/", "https://approvals.example:8443"),
        ("http://[::1]:8081/", "http://[::1]:8081"),
        ("null", None),
        ("ftp://approvals.example", None),
        ("https://", None),
        ("http://host:notaport/", None),
    ],
)
def test_origin_of_normalises_like_a_browser(url: str, origin: str | None) -> None:
    assert origin_of(url) == origin


@pytest.mark.parametrize(
    "headers",
    [
        {},  # old browsers and scripts send neither header; the token still guards
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},
        {"Origin": "https://approvals.example"},
        {"Origin": "http://127.0.0.1:8081", "Sec-Fetch-Site": "same-origin"},
        {"origin": "https://APPROVALS.example:443"},
    ],
)
def test_requests_from_this_console_pass(headers: dict[str, str]) -> None:
    assert cross_site_reason(Headers(headers), allowed_origins=OURS) is None


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # a sibling subdomain is another application
        {"Origin": "https://evil.example"},
        {"Origin": "null"},  # sandboxed frames, data: URLs
        {"Origin": "http://approvals.example"},  # downgraded scheme
        {"Origin": "https://approvals.example.evil.example"},
        {"Origin": "https://approvals.example", "Sec-Fetch-Site": "cross-site"},
    ],
)
def test_requests_from_elsewhere_are_refused_with_a_reason(headers: dict[str, str]) -> None:
    reason = cross_site_reason(Headers(headers), allowed_origins=OURS)
    assert reason is not None and len(reason) < 200


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/console/drafts/drf_1", "/console/drafts/drf_1"),
        ("/console/?status=all&account=acc_us_001", "/console/?status=all&account=acc_us_001"),
        ("", "/console/"),
        (None, "/console/"),
        ("/console", "/console/"),
        ("//evil.example/console/", "/console/"),
        ("https://evil.example/console/", "/console/"),
        ("/console//evil.example", "/console/"),
        ("/console/\\evil.example", "/console/"),
        ("/console/drafts/x\r\nSet-Cookie: a=b", "/console/"),
        ("/v1/drafts", "/console/"),
        ("/console/login?next=/console/", "/console/"),
        ("/console/logout", "/console/"),
        ("/console/static/console.css", "/console/"),
        ("/console/" + "a" * 3000, "/console/"),
    ],
)
def test_safe_next_never_leaves_the_console(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected
