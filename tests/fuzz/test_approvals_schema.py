"""Schemathesis against the approval service's own OpenAPI: every documented operation, valid and invalid
input, as alice (a human approver), over a real uvicorn. No 5xx, statuses and bodies as documented, bad
input refused, auth enforced.

The Slack and webhook endpoints verify signatures over raw bytes (their fuzz is in test_signed_edges.py);
the console is HTML and not in the schema.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from hypothesis import example, given
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig

from spendgate_approvals.app import create_app
from spendgate_approvals.settings import ApprovalsSettings
from tests.support.stack import World, make_world

from .conftest import ALICE_TOKEN, FUZZ, FUZZ_EXAMPLES, Drafts


def _openapi() -> dict[str, Any]:
    """The app's OpenAPI document. Built from a throwaway world: nothing connects before the lifespan."""
    with tempfile.TemporaryDirectory() as tmp:
        world = make_world(Path(tmp), redis_url="redis://127.0.0.1:1/0", adsim_url="http://127.0.0.1:1")
        return create_app(world.settings(ApprovalsSettings)).openapi()


CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20260728,
        "generation": {
            "mode": "all",
            "max-examples": FUZZ_EXAMPLES,
            # Unknown query parameters are ignored by design (unknown body fields are refused: see
            # test_unknown_body_fields_are_refused), so they are not generated as "invalid" input.
            "allow-extra-parameters": False,
        },
        # Examples, coverage (boundaries, missing fields, wrong types) and fuzzing; not stateful.
        "phases": {"stateful": {"enabled": False}},
        "checks": {
            # A schema-valid request may still be refused by a business rule (412 stale If-Match, 422
            # policy, 409 decided draft); every other default check stays on.
            "positive_data_acceptance": {"enabled": False},
        },
        # Schemathesis sends this where the operation declares HTTPBearer, and leaves it out (expecting
        # 401) when it tests missing or invalid credentials.
        "auth": {"openapi": {"HTTPBearer": {"bearer": ALICE_TOKEN}}},
    }
)

schema = schemathesis.openapi.from_dict(_openapi(), config=CONFIG).exclude(
    path_regex=r"^/v1/(slack|webhooks)/"
)


@FUZZ
@schema.parametrize()
@schema.given(aim=st.sampled_from(["generated", "pending", "other"]))
def test_approval_api_conforms(case: Any, aim: str, approvals_url: str, drafts: Drafts) -> None:
    # Most ids Schemathesis invents are unknown (404); aim part of the cases at real drafts so the
    # headers and bodies reach arm/confirm/reject/rollback for real.
    if "draft_id" in (case.path_parameters or {}) and aim != "generated":
        case.path_parameters["draft_id"] = getattr(drafts, aim)
    case.call_and_validate(base_url=approvals_url, timeout=30)


# Beyond the schema: the headers and fields it cannot describe.
finite = st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | finite | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def test_arm_answers_any_if_match_without_a_server_error(
    approvals_url: str, fuzz_world: World, drafts: Drafts
) -> None:
    with httpx.Client(base_url=approvals_url, timeout=30) as http:

        @FUZZ
        @given(if_match=st.text(st.characters(codec="latin-1", exclude_categories=["Cc"]), max_size=30))
        @example(if_match="²")  # isdigit() but not int(): was a 500
        @example(if_match='W/"³"')
        @example(if_match='"1", "2"')
        def check(if_match: str) -> None:
            headers = [
                ("authorization", f"Bearer {fuzz_world.tokens.alice}".encode()),
                ("if-match", if_match.strip().encode("latin-1")),
            ]
            response = http.post(f"/v1/drafts/{drafts.other}/arm", headers=headers)
            assert response.status_code in (200, 412, 428), (if_match, response.status_code, response.text)
            if response.status_code != 200:
                assert set(response.json()["error"]) == {"code", "message"}, response.text

        check()


def test_unknown_body_fields_are_refused(approvals_url: str, fuzz_world: World, drafts: Drafts) -> None:
    with httpx.Client(base_url=approvals_url, timeout=30) as http:

        @FUZZ
        @given(
            action=st.sampled_from([("confirm", "confirm_token"), ("reject", "reason")]),
            extra=st.dictionaries(
                st.text(min_size=1, max_size=20).filter(lambda k: k not in ("confirm_token", "reason")),
                json_values,
                min_size=1,
                max_size=3,
            ),
        )
        def check(action: tuple[str, str], extra: dict[str, Any]) -> None:
            path, field = action
            response = http.post(
                f"/v1/drafts/{drafts.pending}/{path}",
                json={field: "a fine value", **extra},
                headers={"Authorization": f"Bearer {fuzz_world.tokens.alice}"},
            )
            message = response.json()["error"]["message"]
            assert response.status_code == 422, (extra, response.text)
            assert "extra inputs are not permitted" in message.lower(), response.text

        check()
    assert (
        httpx.get(
            f"{approvals_url}/v1/drafts/{drafts.pending}",
            headers={"Authorization": f"Bearer {fuzz_world.tokens.alice}"},
        ).json()["status"]
        == "pending"
    )
