"""Sandbox controls under /_sim (no token, by design): faults, the writes log, out-of-band edits, reset."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from spendgate_adsim.faults import Faults, FaultSettings
from spendgate_adsim.schemas import error_responses, parse_change
from spendgate_adsim.state import Platform


def sim_router(*, platform: Platform, faults: Faults) -> APIRouter:
    """Build the /_sim routes; tests and demos use them to steer the sandbox."""
    router = APIRouter(prefix="/_sim", responses=error_responses(404, 422))

    @router.get("/faults")
    async def get_faults() -> JSONResponse:
        return JSONResponse(faults.settings.model_dump())

    @router.post("/faults")
    async def set_faults(settings: FaultSettings) -> JSONResponse:
        return JSONResponse(faults.configure(settings).model_dump())

    @router.get("/writes")
    async def list_writes() -> JSONResponse:
        return JSONResponse({"writes": platform.writes()})

    @router.post("/campaigns/{account}/{campaign}")
    async def change_out_of_band(account: str, campaign: str, request: Request) -> JSONResponse:
        change = parse_change(await request.body())
        result = platform.change(account_id=account, campaign_id=campaign, change=change, source="oob")
        return JSONResponse(result.body, headers={"ETag": result.etag})

    @router.post("/reset")
    async def reset() -> JSONResponse:
        platform.reset()
        faults.reset()
        return JSONResponse({"ok": True, "seed": platform.seed})

    return router
