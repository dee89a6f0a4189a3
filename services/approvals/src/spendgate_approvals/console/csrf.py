"""CSRF defences of the console: a per-session token in every form, plus the browser's own origin signals.

The token is the defence that always applies; `Origin` and `Sec-Fetch-Site` are checked when the
browser sends them (every current browser does on a form POST), so a request another site forged is
refused even before its token is looked at. The cookie's SameSite=Strict is a third, independent layer.
"""

from __future__ import annotations

import hmac
from collections.abc import Collection, Mapping
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
# `none` is a navigation the user started (address bar, bookmark); only another site's page is suspect.
_TRUSTED_FETCH_SITES = {"same-origin", "none"}
_MAX_TOKEN = 256


def tokens_match(expected: str, given: str | None) -> bool:
    """Constant-time comparison of the session's CSRF token with the one a form sent back."""
    if not expected or not given or len(given) > _MAX_TOKEN:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` in the form browsers send as `Origin` (default ports left out), or None."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    if ":" in host:  # an IPv6 literal keeps its brackets in an origin
        host = f"[{host}]"
    return f"{scheme}://{host}" if port in (None, _DEFAULT_PORTS[scheme]) else f"{scheme}://{host}:{port}"


def cross_site_reason(headers: Mapping[str, str], *, allowed_origins: Collection[str]) -> str | None:
    """Why a state-changing request looks like it came from another site, or None when it does not.

    `headers` must look names up case-insensitively (Starlette's `Headers` does).
    """
    site = headers.get("sec-fetch-site")
    if site is not None and site.strip().lower() not in _TRUSTED_FETCH_SITES:
        return f"the browser says this form was sent from a {site.strip().lower()} page"
    origin = headers.get("origin")
    if origin is not None and origin_of(origin) not in allowed_origins:
        return f"the form was sent from {origin[:100]!r}, not from this console"
    return None


def safe_next(target: str | None, *, default: str = "/console/") -> str:
    """Where to go after signing in: a console path on this site, never an open redirect."""
    if not target or len(target) > 2000 or not target.startswith("/console/"):
        return default
    if "//" in target or "\\" in target or any(ord(ch) < 0x20 for ch in target):
        return default
    if target.startswith(("/console/login", "/console/logout", "/console/static/")):
        return default
    return target
