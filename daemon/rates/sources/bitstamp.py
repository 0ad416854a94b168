"""Bitstamp's public ticker (API v2).

``GET {url}/api/v2/ticker/btceur/`` answers ``{"timestamp": "1767268800", "open":
"...", "high": "...", "low": "...", "last": "<last trade price>", "volume": "...",
"vwap": "...", "bid": "...", "ask": "...", ...}``: ``last`` is the last trade's price
(a decimal string) and ``timestamp`` (Unix seconds, a string) the time of the ticker,
which is how old the answer is. A pair Bitstamp does not list is a 404.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from daemon.rates.errors import SourceFailure
from daemon.rates.sources.base import Answer, Source, field, get_json, price


class Bitstamp(Source):
    kind = "bitstamp"
    default_url = "https://www.bitstamp.net"
    currencies = frozenset({"USD", "EUR", "GBP"})

    async def fetch(self, client: httpx.AsyncClient, asset: str, currency: str) -> Answer | None:
        pair = f"{self.symbol(asset)}{currency}".lower()
        where = f"bitstamp {pair}"
        body = await get_json(client, f"{self.url}/api/v2/ticker/{pair}/")
        if body is None:
            return None
        value = price(field(body, "last", where), where)
        stamp = str(field(body, "timestamp", where))
        if not stamp.isdigit() or len(stamp) > 12:
            raise SourceFailure("malformed", f"{where}: 'timestamp' is not Unix seconds")
        return Answer(value, datetime.fromtimestamp(int(stamp), UTC))
