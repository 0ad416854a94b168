"""Every error leaves the API as ``{"error": {"code", "message"}}`` with its status.

This is the one place where an error becomes an HTTP status: a service error says what
kind of refusal it is (:class:`~daemon.services.errors.Kind`), :data:`STATUS` says what
that is in HTTP. Anything else is a 500 with a log line."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from daemon.services import json_codec
from daemon.services.errors import InvalidRequest, Kind, ServiceError

log = logging.getLogger("paywatch.api")

STATUS: dict[Kind, int] = {
    Kind.MALFORMED: 400,
    Kind.INVALID: 422,
    Kind.UNAUTHORIZED: 401,
    Kind.NOT_FOUND: 404,
    Kind.CONFLICT: 409,
    Kind.TOO_LARGE: 413,
    Kind.UNAVAILABLE: 503,
    Kind.TOO_MANY: 429,
}

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


class BadJson(InvalidRequest):
    kind = Kind.MALFORMED  # not JSON at all, rather than JSON that is not acceptable


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    body = json_codec.dumps_bytes({"error": {"code": code, "message": message}})
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def describe_validation(errors: list[Any]) -> ServiceError:
    """One readable error for pydantic's list of problems with a request body."""
    if any(e.get("type") == "json_invalid" for e in errors):
        return BadJson("invalid_json", "the request body is not valid JSON")
    parts = []
    for err in errors[:5]:
        loc = [str(p) for p in err.get("loc", ())]
        loc = [p for p in loc if not p.startswith(("function-", "constrained-")) and "[" not in p]
        where = ".".join(loc) or "body"
        kind = err.get("type", "")
        if kind == "extra_forbidden":
            message = "unknown field"
        elif kind == "missing":
            message = "is required"
        elif kind in ("model_type", "model_attributes_type", "dict_type") and where == "body":
            message = "must be a JSON object"
        else:
            message = str(err.get("msg", "is invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return InvalidRequest("invalid_request", "; ".join(parts))


def install_error_handlers(app: Starlette) -> None:
    async def on_service_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ServiceError)
        headers = {"WWW-Authenticate": "Bearer"} if exc.kind is Kind.UNAUTHORIZED else None
        return error_response(STATUS[exc.kind], exc.code, exc.message, headers)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ValidationError)
        return await on_service_error(request, describe_validation(list(exc.errors())))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, exc.detail, dict(exc.headers or {}))

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "an internal error occurred; see the logs")

    app.add_exception_handler(ServiceError, on_service_error)
    app.add_exception_handler(ValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
