"""FastAPI dependency aliases: handlers declare what they need (`DepsDep`, `PrincipalDep`, `QueueDep`)."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from spendgate_approvals.auth import authenticate_human
from spendgate_approvals.wiring import Resources
from spendgate_core.contracts.jobs import ApplyQueue
from spendgate_core.domain.principals import Principal
from spendgate_core.usecases.deps import CoreDeps

# auto_error=False: a missing or malformed header must reach our own 401 with the error shape.
_bearer = HTTPBearer(auto_error=False, description="a human principal's token from the principals file")


def _resources(request: Request) -> Resources:
    # Put there by the app's lifespan (Starlette copies lifespan state into every request).
    return cast(Resources, request.state.resources)


ResourcesDep = Annotated[Resources, Depends(_resources)]


def _deps(resources: ResourcesDep) -> CoreDeps:
    return resources.deps


def _queue(resources: ResourcesDep) -> ApplyQueue:
    return resources.queue


def _principal(
    resources: ResourcesDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    return authenticate_human(resources.principals, credentials.credentials if credentials else None)


DepsDep = Annotated[CoreDeps, Depends(_deps)]
QueueDep = Annotated[ApplyQueue, Depends(_queue)]
PrincipalDep = Annotated[Principal, Depends(_principal)]
