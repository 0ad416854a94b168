"""``POST /v1/tatum/notifications``: Tatum's address notifications (HMAC, no API key)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from daemon.api.params import raw_body
from daemon.runtime.container import Container
from daemon.services import json_codec


def tatum_routes(container: Container) -> list[Route]:
    """The route, when Tatum notifications are on (tatum.notify_url and hmac_secret)."""
    hints = container.tatum_hints
    max_body = container.config.api.max_body_bytes

    if hints is None:  # off: not served, not published
        return []

    async def notification(request: Request) -> Response:
        body = await raw_body(request, max_body)
        note = hints.check(body, request.headers.get("x-payload-hash"))
        outcome = await hints.take(body, note)
        answer = json_codec.dumps_bytes({"status": outcome, "tx_id": note.tx_id})
        return Response(answer, 200, media_type="application/json")

    return [Route("/v1/tatum/notifications", notification, methods=["POST"])]


def tatum_paths(errors: Any, json_content: Any) -> dict[str, Any]:
    """The OpenAPI path of this route (``errors`` and ``json_content`` from openapi.py)."""
    taken = {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["accepted", "duplicate", "ignored"]},
            "tx_id": {"type": "string"},
        },
    }
    return {
        "/v1/tatum/notifications": {
            "post": {
                "summary": "Tatum's address notifications (x-payload-hash HMAC, no API key)",
                "description": "Verified, then taken only as a hint: the transaction is "
                "checked on chain and credited by the chain's watcher.",
                "operationId": "tatum_notification",
                "security": [],
                "parameters": [
                    {
                        "name": "x-payload-hash",
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string"},
                        "description": "base64(HMAC-SHA512(tatum.hmac_secret, body))",
                    }
                ],
                "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}},
                "responses": {"200": json_content(taken, "Taken"), **errors(400, 401, 404, 413)},
            }
        }
    }
