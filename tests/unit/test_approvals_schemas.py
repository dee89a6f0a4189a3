"""Request bodies and authentication rules of the approval API, without a server."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from spendgate_approvals.auth import authenticate_human
from spendgate_approvals.schemas import ConfirmBody, RejectBody
from spendgate_core.domain.principals import Principal, PrincipalDirectory, render_principal, token_digest
from spendgate_core.errors import Forbidden, Unauthenticated


def test_reject_reason_is_trimmed_and_bounded() -> None:
    assert RejectBody.model_validate({"reason": "  too much  "}).reason == "too much"
    assert len(RejectBody.model_validate({"reason": "é" * 2000}).reason) == 2000
    for bad in ["", "   ", "r" * 2001, "tab\tok\nbut\x07bell", 5, None]:
        with pytest.raises(ValidationError):
            RejectBody.model_validate({"reason": bad})


def test_bodies_refuse_unknown_fields_and_wrong_types() -> None:
    with pytest.raises(ValidationError, match="extra"):
        ConfirmBody.model_validate({"confirm_token": "t", "quorum": 2})
    with pytest.raises(ValidationError):
        ConfirmBody.model_validate({"confirm_token": 123})
    with pytest.raises(ValidationError):
        ConfirmBody.model_validate({"confirm_token": "\ud800"})
    assert ConfirmBody.model_validate({"confirm_token": "abc-_1"}).confirm_token == "abc-_1"


@pytest.fixture
def directory(tmp_path: Path) -> PrincipalDirectory:
    path = tmp_path / "principals.toml"
    path.write_text(
        render_principal(
            Principal(name="ann", kind="human", token_sha256=token_digest("h"), roles=("viewer",))
        )
        + render_principal(
            Principal(
                name="bot", kind="agent", token_sha256=token_digest("a"), scopes=("mcp.read", "mcp.draft")
            )
        ),
        "utf-8",
    )
    return PrincipalDirectory(path)


def test_only_humans_get_in(directory: PrincipalDirectory) -> None:
    assert authenticate_human(directory, "h").name == "ann"
    with pytest.raises(Forbidden, match="only human principals"):
        authenticate_human(directory, "a")
    for token in [None, "", "nope", "h" * 600]:
        with pytest.raises(Unauthenticated):
            authenticate_human(directory, token)
