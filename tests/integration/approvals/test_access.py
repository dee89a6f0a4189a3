"""Who may do what: humans only, agents refused everywhere, viewers read, foreign accounts look unknown."""

from __future__ import annotations

from typing import Any

import pytest

from spendgate_core.domain.principals import Principal
from spendgate_core.usecases.deps import CoreDeps
from tests.support.stack import EU, US

from .conftest import Api, propose_increase


def every_endpoint(draft_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Each /v1 endpoint with a well-formed request, so only the caller's identity can make it fail."""
    return [
        ("GET", "/v1/drafts", {}),
        ("GET", f"/v1/drafts/{draft_id}", {}),
        ("POST", f"/v1/drafts/{draft_id}/arm", {"headers": {"If-Match": '"1"'}}),
        ("POST", f"/v1/drafts/{draft_id}/confirm", {"json": {"confirm_token": "t"}}),
        ("POST", f"/v1/drafts/{draft_id}/reject", {"json": {"reason": "no"}}),
        ("POST", f"/v1/drafts/{draft_id}/rollback", {}),
        ("GET", "/v1/audit", {}),
        ("GET", "/v1/audit/verify", {}),
    ]


READS = {"/v1/drafts", "/v1/audit", "/v1/audit/verify"}


@pytest.mark.parametrize("agent", ["agent", "reader", "eu_agent"])
def test_agent_tokens_are_refused_on_every_endpoint(
    api: Api, core: CoreDeps, people: dict[str, Principal], agent: str
) -> None:
    draft_id = propose_increase(core, people["agent"], increase=5_000, account=EU)
    for method, path, kwargs in every_endpoint(draft_id):
        response = api.call(agent, method, path, **kwargs)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["error"]["code"] == "forbidden"
        assert "only human principals" in response.json()["error"]["message"]
    assert api.get_draft("alice", draft_id).json()["version"] == 1  # nothing changed


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Basic YTpi"},
        {"Authorization": "Bearer " + "x" * 5000},
    ],
)
def test_no_or_unknown_token_is_401_with_www_authenticate(
    api: Api, core: CoreDeps, people: dict[str, Principal], headers: dict[str, str]
) -> None:
    draft_id = propose_increase(core, people["agent"], increase=5_000)
    for method, path, kwargs in every_endpoint(draft_id):
        response = api.call(None, method, path, headers={**kwargs.pop("headers", {}), **headers}, **kwargs)
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.json()["error"]["code"] == "unauthenticated"


def test_viewer_reads_but_cannot_decide(api: Api, core: CoreDeps, people: dict[str, Principal]) -> None:
    draft_id = propose_increase(core, people["agent"], increase=5_000)
    for method, path, kwargs in every_endpoint(draft_id):
        response = api.call("viewer", method, path, **kwargs)
        read = method == "GET"
        assert response.status_code == (200 if read else 403), (method, path, response.text)
    assert api.get_draft("viewer", draft_id).json()["status"] == "pending"


def test_a_foreign_account_behaves_like_an_unknown_one(
    api: Api, core: CoreDeps, people: dict[str, Principal]
) -> None:
    us = propose_increase(core, people["agent"], increase=5_000, account=US)
    eu = propose_increase(core, people["agent"], increase=5_000, account=EU)
    unknown = "drf_" + "0" * 26

    for method, path, kwargs in every_endpoint(us):
        if path.split("?")[0] in READS:
            continue
        foreign = api.call("carol", method, path, **kwargs)
        missing = api.call("carol", method, path.replace(us, unknown), **kwargs)
        assert foreign.status_code == missing.status_code == 404, (method, path)
        assert foreign.json()["error"]["code"] == missing.json()["error"]["code"] == "not_found"

    assert [d["id"] for d in api.call("carol", "GET", "/v1/drafts").json()["drafts"]] == [eu]
    assert api.call("carol", "GET", "/v1/drafts", params={"account_id": US}).json() == {"drafts": []}
    assert api.call("carol", "GET", "/v1/drafts", params={"account_id": "acc_nope"}).json() == {"drafts": []}
    audit = api.call("carol", "GET", "/v1/audit").json()["entries"]
    assert audit and {e["account_id"] for e in audit} == {EU}
    assert api.call("carol", "GET", "/v1/audit", params={"account_id": US}).json() == {"entries": []}
    # carol is an admin of the EU account: there she decides.
    assert api.approve("carol", eu).json()["status"] == "approved"
