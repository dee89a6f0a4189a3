"""Operational endpoints, unauthenticated: liveness, readiness (Redis reachable) and Prometheus metrics."""

from __future__ import annotations

import redis
from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from spendgate_approvals.dependencies import ResourcesDep
from spendgate_approvals.errors import error_response, error_responses

router = APIRouter(tags=["ops"])


@router.get("/healthz")
async def healthz() -> dict[str, bool]:
    return {"ok": True}


@router.get("/readyz", responses=error_responses(503))
def readyz(resources: ResourcesDep) -> JSONResponse:
    try:
        resources.redis.ping()
    except redis.RedisError as exc:
        return error_response(503, "not_ready", f"Redis is unreachable ({type(exc).__name__})")
    return JSONResponse({"ok": True})


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
