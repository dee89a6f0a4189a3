"""JSON log lines carry the bound request and draft ids and never a credential."""

import io
import json
import logging

from spendgate_core.logs import JsonFormatter, bound, current_request_id


def capture() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("test"))
    logger = logging.getLogger("spendgate.test.logs")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_one_json_object_per_line_with_bound_ids() -> None:
    logger, stream = capture()
    with bound(request_id="req_abc", draft_id="drf_X"):
        logger.info("draft created", extra={"event": "draft.created", "kind": "budget_change"})
    logger.info("outside")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["request_id"] == "req_abc" and first["draft_id"] == "drf_X"
    assert first["event"] == "draft.created" and first["service"] == "test" and first["level"] == "info"
    assert "request_id" not in second


def test_credentials_are_dropped_from_extra_fields() -> None:
    logger, stream = capture()
    logger.info("login", extra={"token": "sgh_secret", "Authorization": "Bearer x", "user": "alice"})
    line = stream.getvalue()
    assert "sgh_secret" not in line and "Bearer x" not in line and '"user": "alice"' in line


def test_a_draft_always_gets_a_request_id() -> None:
    assert current_request_id().startswith("req_")
    with bound(request_id="req_fixed"):
        assert current_request_id() == "req_fixed"
