"""Kraken's public ticker.

``GET {url}/0/public/Ticker?pair=XBTEUR`` answers ``{"error": [], "result": {"XXBTZEUR":
{"a": [ask, ...], "b": [bid, ...], "c": ["<last trade price>", "<lot volume>"], "v":
..., "p": ..., "t": ..., "l": ..., "h": ..., "o": "..."}}}``: the result is keyed by
Kraken's own name of the pair (``XXBTZEUR`` for ``XBTEUR``), so the one entry is read
whatever its key. ``c[0]`` is the last trade's price, a decimal string. Bitcoin is
``XBT`` at Kraken (and Dogecoin ``XDG``). A pair Kraken does not list is answered
``{"error": ["EQuery:Unknown asset pair"]}``. The format carries no time: the answer is
as old as the fetch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import httpx

from daemon.rates.errors import SourceFailure
from daemon.rates.sources.base import Answer, Source, field, get_json, price


class Kraken(Source):
    kind = "kraken"
    default_url = "https://api.kraken.com"
    currencies = frozenset({"USD", "EUR", "GBP", "CAD", "CHF", "JPY", "AUD"})
    symbols: ClassVar[Mapping[str, str]] = {"BTC": "XBT", "DOGE": "XDG"}

    async def fetch(self, client: httpx.AsyncClient, asset: str, currency: str) -> Answer | None:
        pair = f"{self.symbol(asset)}{currency}"
        where = f"kraken {pair}"
        body = await get_json(client, f"{self.url}/0/public/Ticker", {"pair": pair})
        if body is None:
            return None
        errors = field(body, "error", where)
        if not isinstance(errors, list):
            raise SourceFailure("malformed", f"{where}: 'error' is not a list")
        if any("Unknown asset pair" in str(e) for e in errors):
            return None
        if errors:
            raise SourceFailure("refused", f"{where}: {', '.join(map(str, errors))[:200]}")
        result = field(body, "result", where)
        if not isinstance(result, dict) or len(result) != 1:
            raise SourceFailure("malformed", f"{where}: 'result' is not one pair")
        (ticker,) = result.values()
        closed = field(ticker, "c", where)
        if not isinstance(closed, list) or not closed:
            raise SourceFailure("malformed", f"{where}: 'c' is not [price, volume]")
        return Answer(price(closed[0], where), None)
