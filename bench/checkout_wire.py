"""HTTP/1.1 by hand for bench/checkout.py: keep-alive requests whose every byte on the
wire is counted, and Server-Sent Events streams read from raw sockets (lighter than a
thousand HTTP client streams), each event stamped with its arrival."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import urlsplit

# What a desktop browser sends with a page request (its size does not count: the reply's does).
BROWSER = (
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/126.0 Safari/537.36\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    "Accept-Language: en-US,en;q=0.9\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n"
)


@dataclass(frozen=True)
class Order:
    id: str
    url: str  # its checkout_url

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


class Event(NamedTuple):
    at: float  # time.perf_counter() when it arrived
    wall: float  # time.time() then (the daemon's clock writes events)
    data: dict[str, Any]


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes
    wire: int  # bytes received: status line, headers and body


def _head(raw: bytes) -> tuple[int, dict[str, str]]:
    lines = raw.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers


class Connection:
    """One keep-alive connection; replies must carry Content-Length."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def request(self, method: str, path: str, extra: str = "", body: bytes = b"") -> Reply:
        length = f"Content-Length: {len(body)}\r\n" if body or method == "POST" else ""
        head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\n{extra}{length}\r\n"
        self.writer.write(head.encode() + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        status, headers = _head(raw)
        if "content-length" not in headers:
            raise SystemExit(f"{method} {path}: a reply without Content-Length: {headers}")
        content = await self.reader.readexactly(int(headers["content-length"]))
        return Reply(status, headers, content, len(raw) + len(content))

    async def get(self, path: str, *, browser: bool = False) -> Reply:
        return await self.request("GET", path, BROWSER if browser else "")

    async def post(self, path: str, key: str, payload: Any = None) -> Reply:
        body = b"" if payload is None else json.dumps(payload).encode()
        kind = "Content-Type: application/json\r\n" if body else ""
        return await self.request("POST", path, f"Authorization: Bearer {key}\r\n{kind}", body)

    async def create_order(self, key: str, body: dict[str, object]) -> Order:
        reply = await self.post("/v1/orders", key, body)
        if reply.status != 201:
            raise SystemExit(f"POST /v1/orders: {reply.status} {reply.body[:300]!r}")
        made = json.loads(reply.body)
        return Order(str(made["id"]), str(made["checkout_url"]))

    def close(self) -> None:
        self.writer.close()


@dataclass
class Stream:
    """An order's open event stream: every ``event: state`` with its arrival time."""

    order: Order
    writer: asyncio.StreamWriter
    events: list[Event] = field(default_factory=list)
    ended: float | None = None  # when the daemon closed it
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    @property
    def open(self) -> bool:
        return self.ended is None

    async def beyond(self, seen: int) -> None:
        """Until more than ``seen`` events have arrived (or the stream ended)."""
        while len(self.events) <= seen and self.open:
            self.arrived.clear()
            await self.arrived.wait()
        if len(self.events) <= seen:
            raise SystemExit(f"order {self.order.id}: its stream ended before the event")

    async def read(self, reader: asyncio.StreamReader) -> None:
        """Chunked transfer encoding, then SSE blocks (comments, such as pings, skipped)."""
        pending = b""
        try:
            while True:
                size = int((await reader.readline()).strip() or b"0", 16)
                if size == 0:
                    break
                pending += (await reader.readexactly(size + 2))[:-2]
                while b"\n\n" in pending:
                    block, pending = pending.split(b"\n\n", 1)
                    self._block(block.decode())
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        self.ended = time.perf_counter()
        self.arrived.set()

    def _block(self, block: str) -> None:
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line.removeprefix("event:").strip()
            elif line.startswith("data:"):
                data.append(line.removeprefix("data:").strip())
        if name == "state" and data:
            at, wall = time.perf_counter(), time.time()
            self.events.append(Event(at, wall, json.loads("\n".join(data))))
            self.arrived.set()

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        self.writer.close()


async def open_stream(port: int, order: Order, seconds: float = 30.0) -> Stream:
    """``GET {checkout path}/events``, once its first event has arrived."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"GET {order.path}/events HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n"
    writer.write(head.encode())
    status, headers = _head(await reader.readuntil(b"\r\n\r\n"))
    if status != 200 or headers.get("transfer-encoding") != "chunked":
        writer.close()
        raise SystemExit(f"GET {order.path}/events: {status} {headers}")
    stream = Stream(order, writer)
    stream.task = asyncio.create_task(stream.read(reader))
    await asyncio.wait_for(stream.beyond(0), seconds)
    return stream
