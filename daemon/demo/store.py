"""The demo's store: a webhook endpoint on loopback that checks each request the way a
shop would, per Standard Webhooks, prints what it gets and refuses what does not verify.

The check is written here from the spec, as a store would write it (not with paywatch's
own signing code): ``webhook-signature`` holds ``v1,<base64 HMAC-SHA256>`` of
``{webhook-id}.{webhook-timestamp}.{body}``, keyed with the base64 after ``whsec_``; a
timestamp more than five minutes off is refused (replays); several space-separated
signatures may stand in the header (key rotation) and any match is enough.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from daemon.errors import DemoError

TOLERANCE_SECONDS = 5 * 60
PATH = "/hooks"


class Refused(DemoError):
    """The request is not a webhook signed with our secret: answered 400."""


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float | None = None) -> str:
    """Check one request's signature; its ``webhook-id``, or raise :class:`Refused`."""
    msg_id = headers.get("webhook-id", "")
    sent = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not (msg_id and sent and signatures):
        raise Refused("missing webhook-id, webhook-timestamp or webhook-signature")
    if not sent.isdigit():
        raise Refused(f"webhook-timestamp {sent[:20]!r} is not unix seconds")
    skew = (time.time() if now is None else now) - int(sent)
    if abs(skew) > TOLERANCE_SECONDS:
        raise Refused(f"webhook-timestamp is {abs(int(skew))} s off (a replay?)")
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except binascii.Error:
        raise ValueError("the store's secret is not whsec_<base64>") from None
    signed = msg_id.encode() + b"." + sent.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected.encode()):
            return msg_id
    raise Refused("no signature matches (altered body, or another secret)")


@dataclass(frozen=True)
class Event:
    """One verified webhook, as the store keeps it."""

    webhook_id: str
    type: str
    order: str  # paywatch's order id
    order_id: str  # the store's own order reference
    status: str


class Store:
    """The store's webhook endpoint: ``app`` is the ASGI app, :meth:`serve` runs it."""

    def __init__(self, secret: str, echo: Callable[[str], None]) -> None:
        self.secret = secret
        self.echo = echo
        self.events: list[Event] = []
        self.refused = 0
        self.url = ""
        self.app = Starlette(routes=[Route(PATH, self._receive, methods=["POST"])])
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    def paid(self) -> set[str]:
        """Orders (paywatch ids) whose ``order.paid`` webhook arrived verified."""
        return {e.order for e in self.events if e.type == "order.paid"}

    async def _receive(self, request: Request) -> PlainTextResponse:
        body = await request.body()
        try:
            webhook_id = verify(self.secret, request.headers, body)
            payload = json.loads(body)
            data = payload["data"]
            event = Event(
                webhook_id, str(payload["type"]), data["id"], data["order_id"], data["status"]
            )
        except (Refused, ValueError, KeyError, TypeError) as exc:
            self.refused += 1
            self.echo(f"store: REFUSED a webhook with 400: {exc}")
            return PlainTextResponse(f"refused: {exc}\n", status_code=400)
        again = any(e.webhook_id == webhook_id for e in self.events)
        if not again:
            self.events.append(event)
        self.echo(
            f"store: verified {event.type:<24} {event.order_id:<10} status {event.status:<10}"
            f" webhook {webhook_id[:14]}" + (" (a retry: already handled)" if again else "")
        )
        return PlainTextResponse("ok\n")

    async def serve(self) -> str:
        """Listen on a free loopback port in this event loop; the webhook URL."""
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=0,
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = server = _InLoopServer(config)
        self._task = task = asyncio.create_task(server.serve(), name="demo-store")
        while not server.started:
            if task.done():
                await task
                raise RuntimeError("the demo store could not listen")
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}{PATH}"
        return self.url

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(Exception):
            await self._task


class _InLoopServer(uvicorn.Server):
    """uvicorn without its own signal handling: the demo owns SIGINT/SIGTERM."""

    def capture_signals(self) -> contextlib.AbstractContextManager[None]:  # type: ignore[override]
        return contextlib.nullcontext()
