"""Local stand-ins of the exchanges paywatch reads rates from, each answering in its
real documented format (see the docstrings of daemon/rates/sources/*), on loopback.

``with rate_standins(clock) as ex:`` serves Kraken, Coinbase and Bitstamp, each on its
own port (``ex.kraken.url`` ...), from a thread with its own event loop. Each is
controlled by hand:

- ``set_price("BTC", "EUR", "60000.10")``: the pair's last trade (unset pairs are not
  listed: Kraken's "Unknown asset pair", a 404 at the others);
- ``mode``: ``ok``; ``down`` (HTTP 503); ``malformed`` (a body not in the format);
  ``timeout`` (answers after ``delay`` seconds); ``stale`` (a timestamp ``stale_by``
  old where the format carries one: Coinbase's ``time``, Bitstamp's ``timestamp``);
- ``requests``: how many requests it served.

Timestamps come from ``clock`` (a test clock, or real time by default).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aiohttp import web

Clock = Callable[[], datetime]
KRAKEN_ASSETS = {"XBT": "BTC", "XDG": "DOGE"}


@dataclass
class Standin:
    kind: str
    clock: Clock
    prices: dict[tuple[str, str], str] = field(default_factory=dict)
    mode: str = "ok"
    delay: float = 3.0
    stale_by: timedelta = timedelta(hours=1)
    requests: int = 0
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_price(self, asset: str, currency: str, value: str) -> None:
        self.prices[(asset, currency)] = value

    def _time(self) -> datetime:
        now = self.clock()
        return now - self.stale_by if self.mode == "stale" else now

    async def _gate(self) -> web.Response | None:
        self.requests += 1
        if self.mode == "timeout":
            await asyncio.sleep(self.delay)
        if self.mode == "down":
            return web.json_response({"message": "service unavailable"}, status=503)
        if self.mode == "malformed":
            return web.Response(text="<html>maintenance</html>", content_type="text/html")
        return None

    async def kraken(self, request: web.Request) -> web.Response:
        refused = await self._gate()
        if refused is not None:
            return refused
        pair = request.query.get("pair", "")
        base, quote = pair[:-3], pair[-3:]
        value = self.prices.get((KRAKEN_ASSETS.get(base, base), quote))
        if value is None:
            return web.json_response({"error": ["EQuery:Unknown asset pair"]})
        name = f"X{base}Z{quote}" if base in ("XBT", "ETH", "LTC") else pair
        ticker = {
            "a": [value, "1", "1.000"],
            "b": [value, "2", "2.000"],
            "c": [value, "0.00100000"],
            "v": ["100.0", "200.0"],
            "p": [value, value],
            "t": [1000, 2000],
            "l": [value, value],
            "h": [value, value],
            "o": value,
        }
        return web.json_response({"error": [], "result": {name: ticker}})

    async def coinbase(self, request: web.Request) -> web.Response:
        refused = await self._gate()
        if refused is not None:
            return refused
        base, _, quote = request.match_info["product"].partition("-")
        value = self.prices.get((base, quote))
        if value is None:
            return web.json_response({"message": "NotFound"}, status=404)
        stamp = self._time().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        body = {
            "ask": value,
            "bid": value,
            "volume": "1234.5",
            "trade_id": 86326522,
            "price": value,
            "size": "0.0010",
            "time": stamp,
        }
        return web.json_response(body)

    async def bitstamp(self, request: web.Request) -> web.Response:
        refused = await self._gate()
        if refused is not None:
            return refused
        pair = request.match_info["pair"]
        value = self.prices.get((pair[:-3].upper(), pair[-3:].upper()))
        if value is None:
            return web.Response(status=404, text="Not Found")
        body = {
            "timestamp": str(int(self._time().timestamp())),
            "open": value,
            "high": value,
            "low": value,
            "last": value,
            "volume": "100.0",
            "vwap": value,
            "bid": value,
            "ask": value,
            "side": "0",
            "open_24": value,
            "percent_change_24": "0.00",
        }
        return web.json_response(body)

    def app(self) -> web.Application:
        app = web.Application()
        if self.kind == "kraken":
            app.router.add_get("/0/public/Ticker", self.kraken)
        elif self.kind == "coinbase":
            app.router.add_get("/products/{product}/ticker", self.coinbase)
        else:
            app.router.add_get("/api/v2/ticker/{pair}/", self.bitstamp)
        return app


@dataclass
class Exchanges:
    kraken: Standin
    coinbase: Standin
    bitstamp: Standin

    @property
    def all(self) -> list[Standin]:
        return [self.kraken, self.coinbase, self.bitstamp]

    def set_price(self, asset: str, currency: str, value: str) -> None:
        for standin in self.all:
            standin.set_price(asset, currency, value)

    def sources_yaml(self) -> str:
        """``rates.sources`` pointing at the stand-ins."""
        return ", ".join(f"{{kind: {s.kind}, url: '{s.url}'}}" for s in self.all)


@contextmanager
def rate_standins(clock: Clock = lambda: datetime.now(UTC)) -> Iterator[Exchanges]:
    exchanges = Exchanges(*(Standin(kind, clock) for kind in ("kraken", "coinbase", "bitstamp")))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="rate-standins", daemon=True)
    thread.start()
    runners: list[web.AppRunner] = []

    async def start() -> None:
        for standin in exchanges.all:
            runner = web.AppRunner(standin.app(), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            standin.port = int(runner.addresses[0][1])
            runners.append(runner)

    async def stop() -> None:
        for runner in runners:
            await runner.cleanup()

    try:
        asyncio.run_coroutine_threadsafe(start(), loop).result(30)
        yield exchanges
    finally:
        asyncio.run_coroutine_threadsafe(stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
