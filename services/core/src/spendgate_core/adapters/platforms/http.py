"""Shared HTTP plumbing for platform adapters: one status and error mapping, and request metrics, for the
blocking httpx clients here and the gateway's reads over aiohttp (`live`)."""

from __future__ import annotations

import email.utils
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import httpx

from spendgate_core.errors import NotFound, PermanentUpstreamError, TransientUpstreamError
from spendgate_core.metrics import UPSTREAM_REQUESTS

TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Retry-After as seconds, from either delta-seconds or an HTTP date."""
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    # An HTTP-date is the platform's wall clock; only the wall clock can tell how far off it is.
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def upstream_message(response: httpx.Response) -> str:
    try:
        body = response.json()
        return str(body["error"]["message"])[:500]
    except (ValueError, KeyError, TypeError):
        return response.text[:500] or response.reason_phrase


def timed_out(platform: str, operation: str) -> TransientUpstreamError:
    UPSTREAM_REQUESTS.labels(platform, operation, "timeout").inc()
    return TransientUpstreamError(f"{platform} did not answer {operation} in time")


def unreachable(platform: str, operation: str, exc: Exception) -> TransientUpstreamError:
    UPSTREAM_REQUESTS.labels(platform, operation, "connection_error").inc()
    return TransientUpstreamError(f"{platform} could not be reached for {operation}: {type(exc).__name__}")


@contextmanager
def _mapped_transport_errors(platform: str, operation: str) -> Iterator[None]:
    try:
        yield
    except httpx.TimeoutException:
        raise timed_out(platform, operation) from None
    except httpx.RequestError as exc:  # transport failures, and an answer that does not decode
        raise unreachable(platform, operation, exc) from None


def checked(response: httpx.Response, *, platform: str, operation: str, not_found: str) -> httpx.Response:
    UPSTREAM_REQUESTS.labels(platform, operation, str(response.status_code)).inc()
    if response.status_code == 404:
        raise NotFound(not_found)
    if response.status_code in TRANSIENT_STATUSES:
        raise TransientUpstreamError(
            f"{platform} answered {response.status_code} to {operation}: {upstream_message(response)}",
            status=response.status_code,
            retry_after=retry_after_seconds(response),
        )
    if response.status_code >= 300:  # a redirect too: platform clients never follow one
        raise PermanentUpstreamError(
            f"{platform} refused {operation} ({response.status_code}): {upstream_message(response)}",
            status=response.status_code,
        )
    return response


def send(
    client: httpx.Client, request: httpx.Request, *, platform: str, operation: str, not_found: str
) -> httpx.Response:
    """Send one request, count it, and map failures onto the spendgate error tree."""
    with _mapped_transport_errors(platform, operation):
        response = client.send(request)
    return checked(response, platform=platform, operation=operation, not_found=not_found)
