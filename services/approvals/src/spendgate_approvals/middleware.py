"""ASGI middleware of the approval service: a request-body size cap and the catch-all for surprises.

Both are plain ASGI (no BaseHTTPMiddleware), so they add no task groups and never buffer responses.
"""

from __future__ import annotations

import logging

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spendgate_approvals.errors import GENERIC_500, error_response

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024  # the largest legitimate body is a 2000-character reason


def _too_large(limit: int) -> str:
    return f"the request body is larger than {limit // 1024} KiB"


class BodySizeLimit:
    """Refuse bodies over `max_bytes` with 413 in the error shape.

    A declared Content-Length over the cap is refused before the app runs; a chunked body is counted
    as it is read, and overflowing raises an HTTPException that the error handlers turn into 413.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        # isascii: str.isdigit() also accepts "²", which int() refuses (h11 catches it; not every server does)
        numeric = declared is not None and declared.isascii() and declared.isdigit()
        if declared is not None and (not numeric or int(declared) > self.max_bytes):
            status, code = (413, "content_too_large") if numeric else (400, "bad_request")
            message = _too_large(self.max_bytes) if status == 413 else "Content-Length is not a number"
            await error_response(status, code, message, {"Connection": "close"})(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, _too_large(self.max_bytes), headers={"Connection": "close"})
            return message

        await self.app(scope, counting_receive, send)


class CatchAll:
    """The last line: an unexpected exception becomes a generic 500 and a logged traceback.

    Nothing of the exception reaches the caller. When the response had already started there is
    nothing left to send, so the exception is only logged.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            if not started:
                await error_response(500, "internal_error", GENERIC_500)(scope, receive, send)
