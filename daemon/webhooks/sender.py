"""One attempt: sign the event's stored body, POST it, read a bounded reply."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from daemon.webhooks.claims import Claimed
from daemon.webhooks.outbox import MAX_EXCERPT
from daemon.webhooks.signing import Signer
from daemon.webhooks.transport import TargetRefused, TransportError, WebhookClient

USER_AGENT = "paywatch-webhooks/0.1"


@dataclass(frozen=True, slots=True)
class Reply:
    status_code: int | None  # None: no HTTP answer (timeout, refused, connection failed)
    latency_ms: int
    error: str | None
    excerpt: str | None
    retry_after: str | None


class Sender:
    def __init__(
        self,
        client: WebhookClient,
        signer: Signer,
        *,
        timeout: float,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._signer = signer
        self._timeout = timeout
        self._wall = wall  # webhook-timestamp is when the attempt is really sent

    async def send(self, delivery: Claimed) -> Reply:
        body = delivery.payload.encode("utf-8")
        headers = self._signer.headers(delivery.id, int(self._wall()), body)
        headers["content-type"] = "application/json"
        headers["user-agent"] = USER_AGENT
        headers["accept-encoding"] = "identity"
        started = time.perf_counter()
        status: int | None = None
        error = excerpt = retry_after = None
        try:
            async with asyncio.timeout(self._timeout):
                answer = await self._client.post(delivery.target_url, body, headers, MAX_EXCERPT)
            status, retry_after, excerpt = answer.status, answer.retry_after, answer.excerpt
        except TimeoutError:
            error = f"timeout: no answer within {self._timeout:g} s"
        except (TargetRefused, TransportError) as exc:
            error = str(exc)
        if status is not None and not 200 <= status < 300:
            error = f"HTTP {status}"
            if 300 <= status < 400:
                error += " (a redirect: not followed; point the URL at the final address)"
        latency = round((time.perf_counter() - started) * 1000)
        return Reply(status, latency, error, excerpt, retry_after)
