"""``newHeads`` over WebSocket: wake the watcher the moment a block arrives.

A background task (started on the first :meth:`NewHeads.wait`, never at
construction) subscribes with ``eth_subscribe("newHeads")`` and sets an event
for each notification. The heads are not trusted for payments: the watcher
fetches blocks over HTTP as always, so a notification only means "look now";
only the announced head's number and hash are kept (:attr:`NewHeads.head`), to
tell whether the HTTP endpoints have shown it yet. :meth:`NewHeads.quiet_for`
says how long the socket has been silent while connected (the source polls
slowly while heads keep coming, at the poll interval otherwise). When the
socket drops, the task reconnects with back-off and ``wait`` degrades to
polling (it returns after the poll interval), so nothing depends on the socket
being up; a reconnect wakes the watcher at once in case a block came while the
socket was down.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import connect

from chains.jsonrpc import redact_url
from chains.retry import Backoff, Retry
from chains.waiting import wait_for_any
from chains.watching import EndpointHealth

RECONNECT = Retry(initial=0.5, factor=2.0, maximum=30.0)  # 0.5 s doubling to 30 s


class NewHeads:
    def __init__(
        self,
        url: str,
        *,
        poll_interval: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self.url = redact_url(url)
        self.poll_interval = poll_interval
        self.connected = False
        self.error: str | None = None
        self.heads_seen = 0
        self.connects = 0
        self.head: tuple[int, str] | None = None  # the last announced (height, hash)
        self._mono = monotonic
        self._news_at: float | None = None  # monotonic: last head (or connect) while connected
        self._event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def wait(self, timeout: float) -> None:
        """Until a new head is announced, or ``timeout`` (the poll interval while down)."""
        self._ensure_running()
        limit = timeout if self.connected else min(timeout, self.poll_interval)
        try:
            await wait_for_any(self._event, timeout=limit)
        finally:
            self._event.clear()

    def quiet_for(self) -> float | None:
        """Seconds since the socket last announced a head (or connected); None while
        it is down."""
        if not self.connected or self._news_at is None:
            return None
        return max(self._mono() - self._news_at, 0.0)

    async def _run(self) -> None:
        backoff = Backoff(RECONNECT)
        while True:
            try:
                await self._listen()
                backoff.succeeded()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any socket failure: note it, poll, reconnect
                self.error = f"{type(exc).__name__}: {exc}"
            finally:
                if self.connected:
                    self.connected, self._news_at = False, None
                    self._event.set()  # a waiter stops waiting on a dead socket: poll now
            await asyncio.sleep(backoff.failed())

    async def _listen(self) -> None:
        async with connect(self._url, open_timeout=10, ping_interval=20, max_size=2**22) as ws:
            request = {"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}
            await ws.send(json.dumps(request))
            ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if not isinstance(ack, dict) or "result" not in ack:
                raise ConnectionError(f"eth_subscribe refused: {ack}")
            self.connected, self.error = True, None
            self._news_at = self._mono()
            self.connects += 1
            self._event.set()  # a block may have come while we were away
            async for message in ws:
                self.heard(json.loads(message))
        self.error = "the socket was closed"

    def heard(self, message: Any) -> None:
        """A message from the connected socket: a ``newHeads`` notification wakes the
        waiter and notes the head it announces; anything else is ignored."""
        if isinstance(message, dict) and message.get("method") == "eth_subscription":
            self.heads_seen += 1
            self.head = _announced(message) or self.head
            self._news_at = self._mono()
            self._event.set()

    def health(self) -> EndpointHealth:
        return EndpointHealth(
            url=self.url,
            healthy=self.connected,
            error=None if self.connected else (self.error or "not connected yet"),
            extra={"kind": "websocket newHeads", "heads_seen": str(self.heads_seen)},
        )

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def _announced(message: dict[str, Any]) -> tuple[int, str] | None:
    """The (height, hash) a notification announces; None when it does not parse (it
    still wakes the watcher)."""
    params = message.get("params")
    result = params.get("result") if isinstance(params, dict) else None
    if not isinstance(result, dict):
        return None
    number, block_hash = result.get("number"), result.get("hash")
    if not isinstance(number, str) or not isinstance(block_hash, str):
        return None
    try:
        return int(number, 16), block_hash.lower()
    except ValueError:
        return None
