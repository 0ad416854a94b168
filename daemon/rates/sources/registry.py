"""The kinds of rate source, by the name config uses (``rates.sources``)."""

from __future__ import annotations

from daemon.rates.sources.base import Source
from daemon.rates.sources.bitstamp import Bitstamp
from daemon.rates.sources.coinbase import Coinbase
from daemon.rates.sources.kraken import Kraken

SOURCE_KINDS: dict[str, type[Source]] = {cls.kind: cls for cls in (Kraken, Coinbase, Bitstamp)}


def build_source(kind: str, url: str | None = None) -> Source:
    return SOURCE_KINDS[kind](url)
