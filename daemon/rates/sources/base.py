"""What every rate source is: a client of one exchange's documented public ticker.

A source answers one (asset, currency) pair per request with the pair's last-trade
(spot) price, read as a :class:`~decimal.Decimal` from the string the API sends
(never a float), and the exchange's own time of it when the format carries one. A pair
the exchange does not list is answered with ``None``; anything else that goes wrong is
a :class:`~daemon.rates.errors.SourceFailure` of a kind the metrics count.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import ClassVar

import httpx

from daemon.rates.errors import SourceFailure


@dataclass(frozen=True)
class Answer:
    value: Decimal
    at: datetime | None  # the exchange's time of the price; None: its format has none


class Source(ABC):
    kind: ClassVar[str]
    default_url: ClassVar[str]  # the public API's base
    currencies: ClassVar[frozenset[str]]  # the fiat currencies it quotes
    symbols: ClassVar[Mapping[str, str]] = {}  # paywatch's symbol -> the exchange's

    def __init__(self, url: str | None = None) -> None:
        self.url = (url or self.default_url).rstrip("/")

    @property
    def name(self) -> str:
        return self.kind

    def symbol(self, asset: str) -> str:
        return self.symbols.get(asset, asset)

    @abstractmethod
    async def fetch(self, client: httpx.AsyncClient, asset: str, currency: str) -> Answer | None:
        """The last-trade price of ``asset`` in ``currency``; None when not listed."""


async def get_json(
    client: httpx.AsyncClient, url: str, params: Mapping[str, str] | None = None
) -> object | None:
    """GET ``url`` and parse its JSON body (numbers as Decimal); None on a 404 (the
    exchange has no such pair)."""
    try:
        response = await client.get(url, params=params)
    except httpx.TimeoutException:
        raise SourceFailure("timeout", f"{url}: no answer in time") from None
    except httpx.HTTPError as exc:
        raise SourceFailure("connect", f"{url}: {type(exc).__name__}: {exc}") from None
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise SourceFailure("status", f"{url}: HTTP {response.status_code}")
    try:
        parsed: object = json.loads(response.content, parse_float=Decimal)
    except ValueError:
        raise SourceFailure("malformed", f"{url}: the body is not JSON") from None
    return parsed


def price(value: object, where: str) -> Decimal:
    """A price sent as a decimal string, checked: finite and above zero."""
    if not isinstance(value, str):
        raise SourceFailure("malformed", f"{where}: not a price string: {str(value)[:40]!r}")
    try:
        parsed = Decimal(value)
    except InvalidOperation:
        raise SourceFailure("malformed", f"{where}: not a price: {value[:40]!r}") from None
    if not parsed.is_finite() or parsed <= 0:
        raise SourceFailure("malformed", f"{where}: not a positive price: {value[:40]!r}")
    return parsed


def field(body: object, key: str, where: str) -> object:
    if not isinstance(body, dict) or key not in body:
        raise SourceFailure("malformed", f"{where}: no {key!r} in the answer")
    return body[key]
