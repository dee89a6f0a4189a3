"""Request ids on every HTTP request, and the periodic ledger check behind `spendgate_ledger_verify_ok`."""

from __future__ import annotations

import logging
import re

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spendgate_core.logs import bound, new_request_id
from spendgate_core.metrics import LEDGER_VERIFY_OK
from spendgate_core.runtime.periodic import PeriodicTask
from spendgate_core.usecases.ports import Ledger

log = logging.getLogger(__name__)

_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class RequestIds:
    """Bind a request id for the request's log lines and echo it as `X-Request-Id`.

    A well-formed id from the caller (a proxy, the CLI) is kept so logs join across hops; anything
    else is replaced, so a client cannot inject text into our logs.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = Headers(scope=scope).get("x-request-id", "")
        request_id = offered if _CLIENT_REQUEST_ID.match(offered) else new_request_id()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Request-Id"] = request_id
            await send(message)

        with bound(request_id=request_id):
            await self.app(scope, receive, send_with_id)


class LedgerWatch(PeriodicTask):
    """Re-verify the whole ledger every `interval` seconds in a background task and export the result.

    Verification is linear in the ledger's length, so it runs here on a timer rather than on each
    scrape; the alert on `spendgate_ledger_verify_ok == 0` fires within one interval of a tamper.
    """

    def __init__(self, ledger: Ledger, *, interval: float = 60.0) -> None:
        super().__init__(
            name="spendgate-ledger-watch", interval_seconds=interval, step=self.step, first_wait=False
        )
        self._ledger = ledger

    def step(self) -> None:
        self.check()

    def stop(self, timeout: float | None = 5.0) -> bool:
        return super().stop(timeout)

    def check(self) -> None:
        try:
            report = self._ledger.verify()
        except Exception:  # Redis down or similar: say so, and leave the gauge at its last value
            log.warning("ledger verification could not run", exc_info=True)
            return
        LEDGER_VERIFY_OK.set(1 if report.ok else 0)
        if not report.ok:
            log.error(
                "ledger verification failed",
                extra={
                    "event": "ledger.verify_failed",
                    "first_bad": report.first_bad,
                    "reason": report.reason,
                },
            )
