"""``POST /v1/tatum/notifications``: Tatum's address notifications (HMAC, no API key)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from daemon.api.params import raw_body
from daemon.runtime.container import Container
from daemon.services import json_codec
from daemon.services.errors import NotFound


def tatum_routes(container: Container) -> list[Route]:
    hints = container.tatum_hints
    max_body = container.config.api.max_body_bytes

    async def notification(request: Request) -> Response:
        if hints is None:
            raise NotFound(
                "tatum_notifications_off",
                "Tatum notifications are off here (tatum.notify_url and tatum.hmac_secret)",
            )
        body = await raw_body(request, max_body)
        note = hints.check(body, request.headers.get("x-payload-hash"))
        outcome = await hints.take(body, note)
        answer = json_codec.dumps_bytes({"status": outcome, "tx_id": note.tx_id})
        return Response(answer, 200, media_type="application/json")

    return [Route("/v1/tatum/notifications", notification, methods=["POST"])]
