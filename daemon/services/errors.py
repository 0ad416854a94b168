"""Errors a use case reports to its caller, by kind (the API maps kinds to HTTP in
daemon.api.errors, the CLI to messages). ``code`` is the machine-readable reason
(``order_not_found``); ``message`` says it to a person."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from daemon.errors import PaywatchError


class Kind(StrEnum):
    """What went wrong with a request, whatever the protocol it came by."""

    MALFORMED = "malformed"  # it cannot be read (not JSON, not a notification)
    INVALID = "invalid"  # read, but not acceptable
    UNAUTHORIZED = "unauthorized"  # no valid credentials
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"  # not in the thing's present state, or not with this key
    TOO_LARGE = "too_large"
    UNAVAILABLE = "unavailable"  # something it needs (a chain's node) did not answer
    TOO_MANY = "too_many"  # more than a client (or the server) takes at once


class ServiceError(PaywatchError):
    kind: ClassVar[Kind] = Kind.MALFORMED

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class InvalidRequest(ServiceError):
    kind = Kind.INVALID


class NotFound(ServiceError):
    kind = Kind.NOT_FOUND


class Conflict(ServiceError):
    kind = Kind.CONFLICT


class TooManyRequests(ServiceError):
    """Over a limit; ``retry_after`` seconds from now it may be taken."""

    kind = Kind.TOO_MANY

    def __init__(self, code: str, message: str, retry_after: int = 30) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after


class Unauthorized(ServiceError):
    kind = Kind.UNAUTHORIZED
