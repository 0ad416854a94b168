"""A store's webhook endpoint, for real, on loopback: it verifies every request with
the ``standardwebhooks`` library (what a store would use) and answers as scripted.

In tests: ``with webhook_receiver(SECRET, behaviour) as receiver: ...`` serves it in
a thread. For the benchmark: ``python -m tests.support.receiver --port N --secret S``
serves it in its own process; ``GET /stats`` reports the counts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: tuple[bool, ...]  # one per secret the receiver checks with
    payload: Any

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")

    @property
    def type(self) -> str:
        return str(self.payload.get("type")) if isinstance(self.payload, dict) else ""


@dataclass(frozen=True)
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0  # seconds to hold the request before answering (a hanging store)


async def read_body(receive: Receive) -> bytes:
    """An ASGI request's whole body."""
    body = b""
    while True:
        message = await receive()
        chunk: bytes = message.get("body", b"")
        body += chunk
        if not message.get("more_body"):
            return body


Behaviour = Callable[[int, Received], Answer]  # (1-based request number, request) -> answer


def always(status: int = 200, **kwargs: Any) -> Behaviour:
    return lambda n, r: Answer(status, **kwargs)


def fail_times(times: int, status: int = 503) -> Behaviour:
    return lambda n, r: Answer(status) if n <= times else Answer(200)


class Receiver:
    def __init__(self, secrets: list[str], behaviour: Behaviour | None = None) -> None:
        self.hooks = [Webhook(s) for s in secrets]
        self.behaviour = behaviour or always(200)
        self.received: list[Received] = []
        self.completed = 0  # requests answered
        self.concurrent = 0
        self.max_concurrent = 0
        self.url = ""
        self._lock = threading.Lock()

    def _verify(self, body: bytes, headers: dict[str, str]) -> tuple[bool, ...]:
        results = []
        for hook in self.hooks:
            try:
                hook.verify(body, headers)
                results.append(True)
            except WebhookVerificationError:
                results.append(False)
        return tuple(results)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        if scope["method"] == "GET" and scope["path"] == "/stats":
            await self._reply(send, Answer(200, body=json.dumps(self.stats()).encode()))
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        request = Received(scope["path"], headers, body, self._verify(body, headers), payload)
        with self._lock:
            self.received.append(request)
            number = len(self.received)
            self.concurrent += 1
            self.max_concurrent = max(self.max_concurrent, self.concurrent)
        try:
            answer = self.behaviour(number, request)
            if answer.delay:
                await asyncio.sleep(answer.delay)
            await self._reply(send, answer)
        finally:
            with self._lock:
                self.concurrent -= 1
                self.completed += 1

    @staticmethod
    async def _reply(send: Send, answer: Answer) -> None:
        headers = [(k.lower().encode(), v.encode()) for k, v in answer.headers.items()]
        headers.append((b"content-type", b"text/plain"))
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})

    def stats(self) -> dict[str, int]:
        with self._lock:
            received = list(self.received)
        return {
            "requests": len(received),
            "unique_ids": len({r.webhook_id for r in received}),
            "unverified": sum(1 for r in received if not all(r.verified)),
        }

    def ids(self) -> list[str]:
        with self._lock:
            return [r.webhook_id for r in self.received]


def _server(app: Receiver, port: int) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    return uvicorn.Server(config)


@contextmanager
def webhook_receiver(
    secrets: str | list[str], behaviour: Behaviour | None = None, *, host: str = "127.0.0.1"
) -> Iterator[Receiver]:
    """Serve a receiver on a free loopback port until the block ends."""
    app = Receiver([secrets] if isinstance(secrets, str) else secrets, behaviour)
    server = _server(app, 0)
    thread = threading.Thread(target=server.run, name="webhook-receiver", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the webhook receiver did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    app.url = f"http://{host}:{port}/hooks"
    try:
        yield app
    finally:
        server.should_exit = True
        thread.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description="a verifying webhook receiver")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    _server(Receiver([args.secret]), args.port).run()


if __name__ == "__main__":
    main()
