"""The native /v1 API (accounts, campaigns, insights), behind bearer tokens and fault injection."""

from __future__ import annotations

import contextlib
import re
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse

from spendgate_adsim.auth import Tokens
from spendgate_adsim.errors import GatewayTimeout, InvalidRequest
from spendgate_adsim.faults import Faults
from spendgate_adsim.schemas import (
    MAX_IDEMPOTENCY_KEY_LENGTH,
    CampaignChangeBody,
    error_responses,
    parse_change,
)
from spendgate_adsim.state import Platform

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def api_router(*, platform: Platform, faults: Faults, tokens: Tokens) -> APIRouter:
    """Build the /v1 routes around one platform, its faults and its tokens."""

    async def inject_faults(request: Request) -> None:
        await faults.before_request(write=request.method != "GET")

    async def may_read(request: Request) -> None:
        tokens.authorize(request.headers.get("authorization"), write=False)

    async def may_write(request: Request) -> None:
        tokens.authorize(request.headers.get("authorization"), write=True)

    router = APIRouter(
        prefix="/v1",
        dependencies=[Depends(inject_faults)],
        responses=error_responses(401, 404, 422, 429),  # plus any status the fault settings inject
    )
    read = [Depends(may_read)]

    @router.get("/accounts", dependencies=read)
    async def list_accounts() -> JSONResponse:
        return JSONResponse({"accounts": platform.accounts()})

    @router.get("/accounts/{account}/campaigns", dependencies=read)
    async def list_campaigns(account: str) -> JSONResponse:
        return JSONResponse({"campaigns": platform.campaigns(account_id=account)})

    @router.get("/accounts/{account}/campaigns/{campaign}", dependencies=read)
    async def get_campaign(account: str, campaign: str) -> JSONResponse:
        body, etag = platform.campaign(account_id=account, campaign_id=campaign)
        return JSONResponse(body, headers={"ETag": etag})

    @router.patch(
        "/accounts/{account}/campaigns/{campaign}",
        dependencies=[Depends(may_write)],
        responses=error_responses(403, 412, 504),
        openapi_extra={"requestBody": {"content": {"application/json": {"schema": _change_schema()}}}},
    )
    async def patch_campaign(
        account: str,
        campaign: str,
        request: Request,
        if_match: Annotated[str | None, Header()] = None,
        idempotency_key: Annotated[
            str | None, Header(min_length=1, max_length=MAX_IDEMPOTENCY_KEY_LENGTH)
        ] = None,
    ) -> JSONResponse:
        # The body is parsed here, after the token check, so a stranger learns nothing from a 422.
        change = parse_change(await request.body())
        result = platform.change(
            account_id=account,
            campaign_id=campaign,
            change=change,
            source="api",
            if_match=if_match,
            idempotency_key=idempotency_key,
        )
        if not result.replayed and faults.drop_write_answer():
            raise GatewayTimeout("Injected fault: the change was applied but its answer was lost.")
        headers = {"ETag": result.etag}
        if result.replayed:
            headers["Idempotent-Replayed"] = "true"
        return JSONResponse(result.body, headers=headers)

    @router.get("/accounts/{account}/insights", dependencies=read)
    async def insights(
        account: str,
        since: str,
        until: str,
        campaign: str | None = None,
        granularity: Literal["day", "total"] = "day",
    ) -> JSONResponse:
        rows = platform.insights(
            account_id=account,
            campaign_id=campaign or None,
            since=_parse_date("since", since),
            until=_parse_date("until", until),
            granularity=granularity,
        )
        return JSONResponse({"rows": rows})

    return router


def _parse_date(name: str, value: str) -> date:
    if _DATE.fullmatch(value):
        with contextlib.suppress(ValueError):
            return date.fromisoformat(value)
    raise InvalidRequest(f"{name} must be a date written YYYY-MM-DD, not {value!r}.")


def _change_schema() -> dict[str, object]:
    return CampaignChangeBody.model_json_schema()
