"""One attempt: sign the event's stored body, POST it, read a bounded reply."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from daemon.webhooks.outbox import MAX_EXCERPT, Claimed
from daemon.webhooks.signing import Signer
from daemon.webhooks.transport import refusal_of

USER_AGENT = "paywatch-webhooks/0.1"


@dataclass(frozen=True, slots=True)
class Reply:
    status_code: int | None  # None: no HTTP answer (timeout, refused, connection failed)
    latency_ms: int
    error: str | None
    excerpt: str | None
    retry_after: str | None


def _describe(exc: httpx.HTTPError) -> str:
    refused = refusal_of(exc)
    if refused is not None:
        return str(refused)
    if isinstance(exc, httpx.TimeoutException):
        return f"timeout ({type(exc).__name__})"
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


class Sender:
    def __init__(
        self,
        client: httpx.AsyncClient,
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
            async with (
                asyncio.timeout(self._timeout),
                self._client.stream(
                    "POST", delivery.target_url, content=body, headers=headers
                ) as response,
            ):
                status = response.status_code
                retry_after = response.headers.get("retry-after")
                excerpt = await _read_bounded(response)
        except TimeoutError:
            status, error = None, f"timeout: no answer within {self._timeout:g} s"
        except httpx.HTTPError as exc:
            status, error = None, _describe(exc)
        if status is not None and not 200 <= status < 300:
            error = f"HTTP {status}"
            if 300 <= status < 400:
                error += " (a redirect: not followed; point the URL at the final address)"
        latency = round((time.perf_counter() - started) * 1000)
        return Reply(status, latency, error, excerpt, retry_after)


async def _read_bounded(response: httpx.Response) -> str | None:
    """At most MAX_EXCERPT bytes of the body; the rest is never read."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_EXCERPT:
            break
    if not chunks:
        return None
    return b"".join(chunks)[:MAX_EXCERPT].decode("utf-8", errors="replace")
