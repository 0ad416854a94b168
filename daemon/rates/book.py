"""The rate book: each source's latest answer for each pair, refreshed in the background
and kept in memory; quotes are taken from it with the rules of :mod:`daemon.rates.quotes`
at the moment they are asked for (an answer ages between refreshes).

Each instance of the daemon refreshes its own book (``rates.refresh`` on every instance,
not once per cluster): the book is read-only, in memory, and no other instance reads it.

For the fiat orders: :meth:`RateBook.quote` gives the rate of one asset in one currency
now, or raises :class:`~daemon.rates.errors.UnknownCurrency` (422) or
:class:`~daemon.rates.errors.RatesUnavailable` (503).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from daemon.config.rates import RatesConfig
from daemon.rates.errors import RatesUnavailable, SourceFailure, UnknownCurrency
from daemon.rates.quotes import Observation, Quote, Rules, age, counted, quote
from daemon.rates.sources.base import Source
from daemon.rates.sources.registry import build_source

log = logging.getLogger("paywatch.rates")
FIXED = "fixed"
PER_SOURCE = 4  # requests in flight to one source at a time


@dataclass
class SourceHealth:
    """How a source did lately (for the metrics)."""

    up: bool | None = None  # its last round had no failure; None before the first
    last_success: datetime | None = None
    last_error: str | None = None
    failures: Counter[str] = field(default_factory=Counter)  # by SourceFailure.kind


@dataclass(frozen=True)
class PairState:
    asset: str
    currency: str
    available: bool
    newest_age: float | None  # seconds since the newest answer any source gave


class RateBook:
    def __init__(
        self,
        config: RatesConfig,
        assets: Iterable[str],
        clock: Callable[[], datetime],
        sources: Sequence[Source] | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.fixed = config.fixed_rates
        self.sources = list(sources or [build_source(s.kind, s.url) for s in config.sources])
        self.currencies = list(dict.fromkeys([*config.currencies, *(c for _, c in self.fixed)]))
        self.assets = sorted({*assets, *(a for a, _ in self.fixed)})
        self.rules = Rules(config.max_age, config.min_sources, config.max_deviation)
        self.health = {s.name: SourceHealth() for s in self.sources}
        self.rounds = 0
        self._answers: dict[tuple[str, str], dict[str, Observation]] = {}

    # -- refreshing ------------------------------------------------------------------

    async def refresh(self) -> None:
        """Ask every source for every pair it quotes, at once; a source's failures are
        counted and never stop the others. The answers replace the previous ones; a
        failed request leaves the previous answer to age out."""
        timeout = self.config.timeout.total_seconds()
        headers = {"User-Agent": "paywatch", "Accept": "application/json"}
        async with httpx.AsyncClient(timeout=timeout, headers=headers) as client:
            await asyncio.gather(*(self._refresh_source(client, s) for s in self.sources))
        self.rounds += 1

    def _pairs(self, source: Source) -> list[tuple[str, str]]:
        return [
            (asset, currency)
            for asset in self.assets
            for currency in self.currencies
            if currency in source.currencies and (asset, currency) not in self.fixed
        ]

    async def _refresh_source(self, client: httpx.AsyncClient, source: Source) -> None:
        gate = asyncio.Semaphore(PER_SOURCE)
        health = self.health[source.name]
        failed = succeeded = 0

        async def one(asset: str, currency: str) -> None:
            nonlocal failed, succeeded
            async with gate:
                try:
                    answer = await source.fetch(client, asset, currency)
                except SourceFailure as exc:
                    failed += 1
                    health.failures[exc.kind] += 1
                    health.last_error = str(exc)
                    log.warning("rate source %s: %s", source.name, exc)
                    return
                except Exception as exc:  # a bug in a client must not stop the others
                    failed += 1
                    health.failures["error"] += 1
                    health.last_error = repr(exc)
                    log.exception("rate source %s failed on %s/%s", source.name, asset, currency)
                    return
            succeeded += 1
            answers = self._answers.setdefault((asset, currency), {})
            if answer is None:  # not listed there
                answers.pop(source.name, None)
                return
            fetched = self.clock()
            made = fetched if answer.at is None else min(answer.at, fetched)
            answers[source.name] = Observation(source.name, answer.value, made)

        await asyncio.gather(*(one(a, c) for a, c in self._pairs(source)))
        health.up = failed == 0
        if succeeded:
            health.last_success = self.clock()

    # -- reading ---------------------------------------------------------------------

    def check_currency(self, currency: str) -> str:
        code = currency.strip().upper()
        if code not in self.currencies:
            raise UnknownCurrency(currency)
        return code

    def observations(self, asset: str, currency: str) -> list[Observation]:
        answers = self._answers.get((asset, currency), {})
        return [answers.get(s.name, Observation(s.name, None, None)) for s in self.sources]

    def quote(self, asset: str, currency: str) -> Quote:
        """The rate of one ``asset`` in ``currency`` now: a fixed rate where config sets
        one, else the median of the answers that count (see :mod:`daemon.rates.quotes`).
        Raises UnknownCurrency (422) or RatesUnavailable (503)."""
        code, symbol, now = self.check_currency(currency), asset.upper(), self.clock()
        fixed = self.fixed.get((symbol, code))
        if fixed is not None:
            return Quote(symbol, code, fixed, (FIXED,), now)
        found = quote(symbol, code, self.observations(symbol, code), now, self.rules)
        if found is None:
            raise RatesUnavailable(
                f"{symbol}/{code}: fewer than {self.rules.min_sources} sources gave a fresh "
                "answer that agrees with the others"
            )
        return found

    def view(self, currency: str) -> dict[str, Any]:
        """``GET /v1/rates`` and ``paywatch rates --json``: each asset's rate (None when
        unavailable) and each source's latest answer, its age and whether it counted."""
        code, now = self.check_currency(currency), self.clock()
        rates: list[dict[str, Any]] = []
        for asset in self.assets:
            fixed = self.fixed.get((asset, code))
            if fixed is not None:
                entry = {"name": FIXED, "value": _text(fixed), "age_seconds": 0, "ok": True}
                rates.append({"asset": asset, "value": _text(fixed), "sources": [entry]})
                continue
            seen = self.observations(asset, code)
            used = {o.source for o in counted(seen, now, self.rules)}
            found = quote(asset, code, seen, now, self.rules)
            sources: list[dict[str, Any]] = []
            for o in seen:
                old = age(o, now)
                sources.append(
                    {
                        "name": o.source,
                        "value": None if o.value is None else _text(o.value),
                        "age_seconds": None if old is None else int(old.total_seconds()),
                        "ok": o.source in used,
                    }
                )
            value = None if found is None else _text(found.value)
            rates.append({"asset": asset, "value": value, "sources": sources})
        return {"currency": code, "rates": rates}

    def pairs(self) -> list[PairState]:
        """Each pair now, for the metrics."""
        now, states = self.clock(), []
        for asset in self.assets:
            for currency in self.currencies:
                if (asset, currency) in self.fixed:
                    states.append(PairState(asset, currency, True, 0.0))
                    continue
                seen = self.observations(asset, currency)
                ages = [a.total_seconds() for o in seen if (a := age(o, now)) is not None]
                found = quote(asset, currency, seen, now, self.rules)
                states.append(
                    PairState(asset, currency, found is not None, min(ages, default=None))
                )
        return states


def _text(value: Decimal) -> str:
    return format(value, "f")
