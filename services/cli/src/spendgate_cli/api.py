"""A small client for the approval REST API (SPEC §7), used by `spendgate drafts`.

Errors: every non-2xx answer becomes `ApiError(status, code, message)` from the body
`{"error": {"code", "message"}}`; a transport failure becomes `ApiUnreachable`.
"""

from __future__ import annotations

from typing import Any

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


class ApprovalsClient:
    def __init__(self, *, url: str, token: str, timeout: float = 15.0) -> None:
        self._http = httpx.Client(
            base_url=url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout,
        )

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
        body = self._call("GET", "/v1/drafts", params=params).json()
        drafts = body["drafts"] if isinstance(body, dict) else body
        return list(drafts)

    def get_draft(self, draft_id: str) -> tuple[dict[str, Any], str]:
        """The draft and its ETag (what `arm` must send back as If-Match)."""
        response = self._call("GET", f"/v1/drafts/{draft_id}")
        draft = dict(response.json())
        return draft, response.headers.get("ETag", f'"{draft["version"]}"')

    def arm(self, draft_id: str, *, etag: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/v1/drafts/{draft_id}/arm", headers={"If-Match": etag}).json())

    def confirm(self, draft_id: str, *, confirm_token: str) -> dict[str, Any]:
        body = {"confirm_token": confirm_token}
        return dict(self._call("POST", f"/v1/drafts/{draft_id}/confirm", json=body).json())

    def reject(self, draft_id: str, *, reason: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/v1/drafts/{draft_id}/reject", json={"reason": reason}).json())

    def rollback(self, draft_id: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/v1/drafts/{draft_id}/rollback").json())

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
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
