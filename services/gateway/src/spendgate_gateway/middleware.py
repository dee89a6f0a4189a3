"""MCP middleware: request ids, logs and metrics per tool call, and bad arguments made readable."""

from __future__ import annotations

import logging
import time
from collections.abc import Collection

import mcp_types
from fastmcp.exceptions import NotFoundError, ValidationError
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools import ToolResult
from pydantic import ValidationError as PydanticValidationError

from spendgate_core.logs import bound, new_request_id
from spendgate_core.metrics import MCP_TOOL_CALLS, MCP_TOOL_DURATION
from spendgate_gateway.errors import ModelToolError, describe_invalid_arguments

log = logging.getLogger(__name__)


def _rewrite_invalid_arguments(tool: str, exc: ValidationError) -> ModelToolError | None:
    """Argument validation failures become a `ModelToolError` naming each bad argument and what to send."""
    cause = exc.__cause__
    if not isinstance(cause, PydanticValidationError):
        return None
    errors = cause.errors(include_url=False, include_context=False, include_input=False)
    return ModelToolError(describe_invalid_arguments(tool, errors))


class ToolCallMiddleware(Middleware):
    """Every tool call: a fresh request id, one log line, `spendgate_mcp_tool_calls_total{tool,outcome}` and
    `spendgate_mcp_tool_duration_seconds{tool}`, and bad arguments rewritten into one readable tool error.

    One middleware rather than one per concern: each FastMCP middleware layer costs a measurable share of
    a cached read (bench/).

    outcome: `ok`; `tool_error` for deliberate errors the model can act on (bad arguments, refusals,
    unknown tools); `error` for everything that was masked. Unknown tool names are counted as `unknown`
    so a client cannot grow the label set.
    """

    def __init__(self, tools: Collection[str]) -> None:
        self._tools = frozenset(tools)

    async def on_call_tool(
        self,
        context: MiddlewareContext[mcp_types.CallToolRequestParams],
        call_next: CallNext[mcp_types.CallToolRequestParams, ToolResult],
    ) -> ToolResult:
        name = context.message.name
        tool = name if name in self._tools else "unknown"
        started = time.perf_counter()
        outcome = "error"  # unless proven otherwise: FastMCP's masked "Error calling tool" lands here
        # A fresh request id per tool call; a draft it creates keeps it, so later steps log under it too.
        with bound(request_id=new_request_id()):
            try:
                result = await call_next(context)
                outcome = "tool_error" if getattr(result, "is_error", False) else "ok"
                return result
            except ValidationError as exc:
                outcome = "tool_error"
                rewritten = _rewrite_invalid_arguments(name, exc)
                if rewritten is None:
                    raise
                raise rewritten from None
            except (ModelToolError, NotFoundError):
                outcome = "tool_error"
                raise
            finally:
                elapsed = time.perf_counter() - started
                MCP_TOOL_CALLS.labels(tool, outcome).inc()
                MCP_TOOL_DURATION.labels(tool).observe(elapsed)
                log.info(
                    "tool call",
                    extra={
                        "event": "mcp.tool_call",
                        "tool": tool,
                        "outcome": outcome,
                        "ms": round(elapsed * 1e3, 2),
                    },
                )
