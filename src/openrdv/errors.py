"""The error model: one exception type per status, each carrying a sentence a client can act on."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    status = 400

    def __init__(
        self,
        message: str,
        *,
        errors: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra or {}

    def with_status(self, status: int) -> ApiError:
        self.status = status
        return self

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.message}
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class BadRequest(ApiError):
    status = 400


class ValidationFailed(BadRequest):
    """One or more named fields or parameters are invalid."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        parts = [
            (f"{name} {msgs[0]}" if not msgs[0][:1].isupper() else f"{name}: {msgs[0]}").rstrip(".")
            for name, msgs in errors.items()
        ]
        super().__init__("Invalid parameters: " + "; ".join(parts) + ".", errors=errors)


def invalid(name: str, message: str) -> ValidationFailed:
    return ValidationFailed({name: [message]})


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404

    def __init__(self, message: str = "Not found: no such resource, or it is not visible to you.") -> None:
        super().__init__(message)


class MethodNotAllowed(ApiError):
    status = 405

    def __init__(self, method: str, allowed: list[str]) -> None:
        allow = ", ".join(allowed)
        super().__init__(f"{method} is not offered on this resource; allowed: {allow}.", headers={"Allow": allow})


class NotAcceptable(ApiError):
    status = 406


class Conflict(ApiError):
    status = 409


class PayloadTooLarge(ApiError):
    status = 413


class UnsupportedMediaType(ApiError):
    status = 415


class TooManyRequests(ApiError):
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, retry_after))})


class ServiceBusy(ApiError):
    status = 503

    def __init__(self) -> None:
        super().__init__("The database is busy; retry in a moment.", headers={"Retry-After": "1"})


BOOKING_CODES: dict[int, str] = {
    6: "MaxRdvNumber",
    7: "MintimeBetween",
    8: "MaxRdvPeriod",
    9: "MintimeRdv",
    10: "NotAvailable",
    11: "EmailAlreadyExists",
    12: "SameTimeRdv",
    13: "EmailNotFound",
}


class BookingRefused(BadRequest):
    """A booking rule refused the request: 400 with the ClicRDV error `code` and `name`."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message, extra={"code": code, "name": BOOKING_CODES[code]})
        self.code = code
