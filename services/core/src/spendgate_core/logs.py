"""Structured logs: one JSON object per line, carrying the request id that follows a draft.

A draft is born with the request id of the tool call that proposed it (`Draft.request_id`); the
approval service and the executor bind that id again whenever they act on the draft, and the executor
sends it upstream as `X-Request-Id`, so one grep follows a change from the AI's call to the platform
write. Keys that look like credentials are dropped from log records, whatever a caller passes.
"""

from __future__ import annotations

import json
import logging
import random
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

REQUEST_ID: ContextVar[str | None] = ContextVar("spendgate_request_id", default=None)
DRAFT_ID: ContextVar[str | None] = ContextVar("spendgate_draft_id", default=None)

_SECRET_HINTS = ("token", "secret", "authorization", "password", "cookie", "signature")
# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged as a field.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def new_request_id() -> str:
    # Request ids correlate log lines and guard nothing, so the `random` module's own generator will do
    # (CPython seeds it from the OS and reseeds it in forked children); `secrets` would cost a system call.
    return f"req_{random.getrandbits(64):016x}"


def current_request_id() -> str:
    """The bound request id, or a fresh one (so a draft always carries one)."""
    return REQUEST_ID.get() or new_request_id()


@contextmanager
def bound(*, request_id: str | None = None, draft_id: str | None = None) -> Iterator[None]:
    """Bind ids for every log line written inside the block (threads and tasks keep their own)."""
    tokens = []
    if request_id is not None:
        tokens.append((REQUEST_ID, REQUEST_ID.set(request_id)))
    if draft_id is not None:
        tokens.append((DRAFT_ID, DRAFT_ID.set(draft_id)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self._service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if (request_id := REQUEST_ID.get()) is not None:
            line["request_id"] = request_id
        if (draft_id := DRAFT_ID.get()) is not None:
            line["draft_id"] = draft_id
        for key, value in vars(record).items():
            if key in _RECORD_FIELDS or key.startswith("_"):
                continue
            if any(hint in key.lower() for hint in _SECRET_HINTS):
                continue
            line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def configure_logging(service: str, *, level: str = "INFO") -> None:
    """Route every logger (ours, uvicorn's, RQ's) to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "rq.worker", "rq"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    for noisy in ("httpx", "httpx2", "httpcore", "httpcore2"):
        logging.getLogger(noisy).setLevel(logging.WARNING)  # one line per request would drown the rest
