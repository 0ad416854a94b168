"""Reading a request's parameters: headers, query string, JSON body."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel
from starlette.requests import Request

from daemon.services.apikeys import check_key_format
from daemon.services.errors import InvalidRequest, Kind, ServiceError

M = TypeVar("M", bound=BaseModel)


def bearer_token(request: Request) -> str:
    """The request's API key if it is well formed (401 otherwise). Whether it is a valid,
    unrevoked key is checked next, still before the body is read (daemon.api.auth)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return check_key_format(token.strip() if scheme.lower() == "bearer" else None)


class PayloadTooLarge(ServiceError):
    kind = Kind.TOO_LARGE


async def json_body(request: Request, model: type[M], max_bytes: int) -> M:
    """The body parsed by pydantic's JSON parser (a ValidationError becomes a 4xx)."""
    return model.model_validate_json(await raw_body(request, max_bytes))


async def raw_body(request: Request, max_bytes: int) -> bytes:
    """The body's bytes, refused past ``max_bytes`` before more is read."""
    too_large = PayloadTooLarge(
        "payload_too_large", f"request bodies are limited to {max_bytes} bytes"
    )
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def header_text(request: Request, name: str, max_length: int) -> str | None:
    value = request.headers.get(name)
    if value is None:
        return None
    if not 0 < len(value) <= max_length or not value.isprintable():
        raise InvalidRequest(
            f"invalid_{name.lower().replace('-', '_')}",
            f"{name}: 1 to {max_length} printable characters",
        )
    return value


# What a text query parameter may be: no NUL (which no stored text holds, and which
# PostgreSQL refuses in a query). The OpenAPI document publishes it.
QUERY_TEXT = "^[^\\u0000]*$"


def query_text(request: Request, name: str, max_length: int) -> str | None:
    value = request.query_params.get(name)
    if value is not None and (len(value) > max_length or "\x00" in value):
        raise InvalidRequest("invalid_request", f"{name}: at most {max_length} characters, no NUL")
    return value


def query_choice(request: Request, name: str, choices: tuple[str, ...]) -> str | None:
    value = request.query_params.get(name)
    if value is not None and value not in choices:
        raise InvalidRequest("invalid_request", f"{name}: one of {', '.join(choices)}")
    return value


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        raise InvalidRequest("invalid_request", f"{name}: a whole number from {low} to {high}")
    return int(text)
