"""The adsim error tree; `app` translates it once into `{"error": {"code", "message"}}` responses.

AdsimError
├── Unauthorized          401 unauthorized
├── Forbidden             403 forbidden
├── NotFound              404 not_found
├── PreconditionFailed    412 precondition_failed
├── InvalidRequest        422 validation_error
├── IdempotencyKeyReused  422 idempotency_key_reused
├── RateLimited           429 rate_limited (with Retry-After)
├── GatewayTimeout        504 gateway_timeout
└── InjectedFault         any status chosen by the fault settings
"""

from __future__ import annotations

from http import HTTPStatus


class AdsimError(Exception):
    """Base of every error adsim answers on purpose."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class Unauthorized(AdsimError):
    status = 401
    code = "unauthorized"

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(AdsimError):
    status = 403
    code = "forbidden"


class NotFound(AdsimError):
    status = 404
    code = "not_found"


class PreconditionFailed(AdsimError):
    status = 412
    code = "precondition_failed"


class InvalidRequest(AdsimError):
    status = 422
    code = "validation_error"


class IdempotencyKeyReused(AdsimError):
    status = 422
    code = "idempotency_key_reused"


class RateLimited(AdsimError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})


class GatewayTimeout(AdsimError):
    status = 504
    code = "gateway_timeout"


class InjectedFault(AdsimError):
    """An error the fault settings asked for; its status is whatever was configured."""

    def __init__(self, status: int) -> None:
        headers = {"Retry-After": "1"} if status == 429 else None
        super().__init__(f"Injected fault: the sandbox answered {status} on purpose.", headers=headers)
        self.status = status
        self.code = status_code_name(status)


def status_code_name(status: int) -> str:
    """A snake_case error code for an HTTP status (429 → rate_limited, 503 → service_unavailable)."""
    if status == 429:
        return "rate_limited"
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "server_error" if status >= 500 else "client_error"
