"""`POST /v1/slack/interactions`: Slack's signed button clicks, answered well within 3 seconds.

401 for a bad or stale signature (nothing parsed); 400 for a verified body that is not an interaction;
otherwise 200 — Slack shows any other status as a bare error icon, so refusals (unknown Slack user,
viewer, not armed, …) are told to the clicking user privately and change nothing. A replayed click is
acknowledged and ignored. The Web API calls run after the response (background task).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response

from spendgate_approvals.dependencies import ResourcesDep
from spendgate_approvals.errors import COMMON_ERRORS, error_response, error_responses
from spendgate_approvals.slack.interactions import MalformedInteraction, parse_clicks

router = APIRouter(prefix="/v1/slack", tags=["slack"], responses=error_responses(*COMMON_ERRORS, 401, 404))


async def _raw_body(request: Request) -> bytes:
    # The signature covers the exact bytes Slack sent: read them before any form parsing.
    return await request.body()


RawBody = Annotated[bytes, Depends(_raw_body)]


@router.post("/interactions")
def interactions(
    request: Request, body: RawBody, resources: ResourcesDep, background: BackgroundTasks
) -> Response:
    slack = resources.slack
    if slack is None:
        return error_response(
            404,
            "slack_not_configured",
            "Slack is not configured on this approval service; set SPENDGATE_SLACK_SIGNING_SECRET, "
            "SPENDGATE_SLACK_BOT_TOKEN and SPENDGATE_SLACK_CHANNEL",
        )
    if not slack.verifier.is_valid(body, request.headers):
        return error_response(
            401,
            "invalid_signature",
            "the X-Slack-Signature does not match this body, or X-Slack-Request-Timestamp is not within "
            "5 minutes of now",
        )
    try:
        clicks = parse_clicks(body)
    except MalformedInteraction as exc:
        return error_response(400, "malformed_interaction", str(exc))
    for click in clicks:
        if not slack.state.first_time(
            slack_user=click.user,
            action_id=click.action_id,
            action_ts=click.action_ts,
            draft_id=click.draft_id,
        ):
            continue  # a replay of a click already handled: acknowledged, nothing happens twice
        background.add_task(slack.follow_up, click, slack.clicks.handle(click))
    return Response(status_code=200)
