"""Build the adsim FastAPI app: wire state, faults and tokens, and map every error to the error shape."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from spendgate_adsim.api import api_router
from spendgate_adsim.auth import Tokens
from spendgate_adsim.errors import AdsimError, status_code_name
from spendgate_adsim.faults import Faults
from spendgate_adsim.schemas import describe_errors
from spendgate_adsim.sim import sim_router
from spendgate_adsim.state import Clock, Platform, utc_now


def create_app(*, seed: int, read_token: str, write_token: str, clock: Clock = utc_now) -> FastAPI:
    """A fresh sandbox platform seeded with `seed`; `clock` (timezone-aware UTC) is injectable for tests."""
    platform = Platform(seed=seed, clock=clock)
    faults = Faults(seed=seed)
    tokens = Tokens(read_token=read_token, write_token=write_token)

    app = FastAPI(title="spendgate adsim", summary="A sandbox ad platform.", version="1")
    app.include_router(api_router(platform=platform, faults=faults, tokens=tokens))
    app.include_router(sim_router(platform=platform, faults=faults))

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        return JSONResponse({"ok": True})

    app.add_exception_handler(AdsimError, _adsim_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected_error)
    return app


def _error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


async def _adsim_error(_: Request, exc: AdsimError) -> JSONResponse:
    return _error(exc.status, exc.code, exc.message, exc.headers)


async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    return _error(422, "validation_error", describe_errors(exc.errors()))


async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
    return _error(exc.status_code, status_code_name(exc.status_code), str(exc.detail), exc.headers)


async def _unexpected_error(_: Request, exc: Exception) -> JSONResponse:
    # Starlette still re-raises after this, so the traceback reaches the server log.
    return _error(500, "internal_error", "adsim failed unexpectedly; see its log.")
