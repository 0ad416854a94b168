"""Coinbase Exchange's public product ticker.

``GET {url}/products/BTC-EUR/ticker`` answers ``{"ask": "...", "bid": "...", "volume":
"...", "trade_id": 1, "price": "<last trade price>", "size": "...", "time":
"2026-01-01T12:00:00.123456Z"}``: ``price`` is the last trade's price (a decimal
string) and ``time`` when that trade was made, which is how old the answer is. A product
Coinbase does not list is a 404 (``{"message": "NotFound"}``).
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from daemon.rates.errors import SourceFailure
from daemon.rates.sources.base import Answer, Source, field, get_json, price


class Coinbase(Source):
    kind = "coinbase"
    default_url = "https://api.exchange.coinbase.com"
    currencies = frozenset({"USD", "EUR", "GBP"})

    async def fetch(self, client: httpx.AsyncClient, asset: str, currency: str) -> Answer | None:
        product = f"{self.symbol(asset)}-{currency}"
        where = f"coinbase {product}"
        body = await get_json(client, f"{self.url}/products/{product}/ticker")
        if body is None:
            return None
        value = price(field(body, "price", where), where)
        stamp = field(body, "time", where)
        try:
            at = datetime.fromisoformat(str(stamp))
        except ValueError:
            raise SourceFailure("malformed", f"{where}: 'time' is not ISO 8601") from None
        return Answer(value, at if at.tzinfo else at.replace(tzinfo=UTC))
