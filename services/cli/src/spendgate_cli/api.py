"""A small client for the approval REST API, used by `spendgate drafts`.

Errors: every non-2xx answer becomes `ApiError(status, code, message)` from the body
`{"error": {"code", "message"}}`; a transport failure, an unusable URL or an answer that is not the
approval API's JSON (a wrong --url) becomes `ApiUnreachable`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx


class ApiError(Exception):
    """The approval service answered, and said no."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class ApiUnreachable(Exception):
    """No answer from the approval service (wrong --url, or it is not running)."""


def _draft_path(draft_id: str, action: str = "") -> str:
    # One path segment whatever the id holds: "../audit" must not become /v1/audit.
    return f"/v1/drafts/{quote(draft_id, safe='')}{action}"


_DRAFT = ("id", "status", "version")  # what every draft answer has


class ApprovalsClient:
    def __init__(self, *, url: str, token: str, timeout: float = 15.0) -> None:
        try:
            self._http = httpx.Client(
                base_url=url.rstrip("/"),
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                timeout=timeout,
            )
        except httpx.InvalidURL as exc:
            raise ApiUnreachable(f"{url!r} is not a usable URL ({exc})") from None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApprovalsClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def list_drafts(self, *, status: str | None, account_id: str | None, limit: int) -> list[dict[str, Any]]:
        params: dict[str, str | int] = {"limit": limit}
        if status:
            params["status"] = status
        if account_id:
            params["account_id"] = account_id
        drafts = self._object(self._call("GET", "/v1/drafts", params=params)).get("drafts")
        if not isinstance(drafts, list):
            raise self._not_the_api()
        return drafts

    def get_draft(self, draft_id: str) -> tuple[dict[str, Any], str]:
        """The draft and its ETag (what `arm` must send back as If-Match)."""
        response = self._call("GET", _draft_path(draft_id))
        draft = self._object(response, "id", "status", "version")
        return draft, response.headers.get("ETag", f'"{draft["version"]}"')

    def arm(self, draft_id: str, *, etag: str) -> dict[str, Any]:
        armed = self._call("POST", _draft_path(draft_id, "/arm"), headers={"If-Match": etag})
        return self._object(armed, "confirm_token", "confirm_before")

    def confirm(self, draft_id: str, *, confirm_token: str) -> dict[str, Any]:
        body = {"confirm_token": confirm_token}
        return self._object(self._call("POST", _draft_path(draft_id, "/confirm"), json=body), *_DRAFT)

    def reject(self, draft_id: str, *, reason: str) -> dict[str, Any]:
        body = {"reason": reason}
        return self._object(self._call("POST", _draft_path(draft_id, "/reject"), json=body), *_DRAFT)

    def rollback(self, draft_id: str) -> dict[str, Any]:
        return self._object(self._call("POST", _draft_path(draft_id, "/rollback")), *_DRAFT)

    def _object(self, response: httpx.Response, *keys: str) -> dict[str, Any]:
        """The answer as a JSON object with `keys`; anything else is not from the approval API (a wrong
        --url), and must never be reported as done."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not set(keys) <= body.keys():
            raise self._not_the_api()
        return body

    def _not_the_api(self) -> ApiUnreachable:
        return ApiUnreachable(f"{self._http.base_url} answered, but not as the spendgate approval API")

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise ApiUnreachable(f"cannot reach the approval API at {self._http.base_url}: {exc}") from None
        if response.is_success:
            return response
        code, message = "http_error", response.text.strip()[:500] or response.reason_phrase
        try:
            error = response.json()["error"]
            code, message = str(error["code"]), str(error["message"])
        except (ValueError, KeyError, TypeError):
            pass  # not our error shape (a proxy, say): keep the raw text
        raise ApiError(response.status_code, code, message)
