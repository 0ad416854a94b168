"""The ``rates:`` section: where exchange rates come from, for orders priced in fiat.

Without a ``rates:`` section paywatch fetches no rates (``GET /v1/rates`` answers 503
``rates_unavailable``). Each source is a public exchange API of a known kind; ``url``
is its base (scheme, host, optional port), paywatch adds the documented path.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from daemon.config.durations import parse_duration
from daemon.config.tatum import _http_url

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_PAIR = re.compile(r"^(?P<asset>[A-Z][A-Z0-9.]{0,15})/(?P<currency>[A-Z]{3})$")


def _kinds() -> list[str]:
    from daemon.rates.sources.registry import SOURCE_KINDS  # the sources import config

    return sorted(SOURCE_KINDS)


class RateSource(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    url: str | None = None  # the API's base; None: the exchange's public address

    @field_validator("kind")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in _kinds():
            raise ValueError(f"{value!r} is not a rate source; known: {', '.join(_kinds())}")
        return value

    @field_validator("url")
    @classmethod
    def _base(cls, value: str | None) -> str | None:
        if value is None:
            return None
        _http_url(value)
        return value.rstrip("/")


def _source(value: object) -> object:
    return {"kind": value} if isinstance(value, str) else value


def _currency(value: object) -> object:
    if not isinstance(value, str) or not _CURRENCY.match(value.upper()):
        raise ValueError(f"{value!r} is not a currency code such as EUR or USD")
    return value.upper()


def positive_decimal(value: object) -> Decimal:
    """A rate as written in config (a string or number): finite and above zero."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f'{value!r} is not a rate such as "60000.50"')
    try:
        parsed = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f'{value!r} is not a rate such as "60000.50"') from None
    if not parsed.is_finite() or parsed <= 0:
        raise ValueError(f"{value!r} is not a positive rate")
    return parsed


def _percent(value: object) -> str:
    parsed = positive_decimal(value)
    if parsed > 100:
        raise ValueError(f"{value!r} is more than 100")
    return str(parsed)


class RatesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: list[Annotated[RateSource, BeforeValidator(_source)]] = Field(
        default_factory=lambda: [RateSource(kind=k) for k in ("kraken", "coinbase", "bitstamp")]
    )
    # A quote needs this many fresh answers; their median is taken.
    min_sources: int = Field(default=2, ge=1)
    max_age: Duration = timedelta(minutes=5)  # older answers do not count
    refresh: Duration = timedelta(minutes=1)
    timeout: Duration = timedelta(seconds=5)  # each request to a source
    # Fresh answers further than this from their median do not count (outvoted).
    max_deviation_percent: Annotated[str, BeforeValidator(_percent)] = "10"
    # {ASSET/CURRENCY: "rate"}: used instead of the sources (testnets, regtest).
    fixed: dict[str, str] = Field(default_factory=dict)
    currencies: list[Annotated[str, BeforeValidator(_currency)]] = Field(
        default_factory=lambda: ["EUR", "USD"]
    )

    @field_validator("fixed", mode="before")
    @classmethod
    def _fixed(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value
        checked: dict[str, str] = {}
        for key, rate in value.items():
            pair = str(key).upper()
            if not _PAIR.match(pair):
                raise ValueError(f"{key!r} is not ASSET/CURRENCY such as BTC/EUR")
            try:
                checked[pair] = str(positive_decimal(rate))
            except ValueError as exc:
                raise ValueError(f"{key}: {exc}") from None
        return checked

    @model_validator(mode="after")
    def _consistent(self) -> RatesConfig:
        kinds = [s.kind for s in self.sources]
        twice = sorted({k for k in kinds if kinds.count(k) > 1})
        if twice:
            raise ValueError(f"sources: {', '.join(twice)} listed more than once")
        if not self.sources and not self.fixed:
            raise ValueError("sources: none listed and no fixed rates: nothing to quote from")
        if self.sources and self.min_sources > len(self.sources):
            raise ValueError(
                f"min_sources is {self.min_sources} but only {len(self.sources)} sources are listed"
            )
        if len(set(self.currencies)) != len(self.currencies):
            raise ValueError("currencies: a currency is listed more than once")
        from daemon.rates.sources.registry import SOURCE_KINDS

        quoted = {c for s in self.sources for c in SOURCE_KINDS[s.kind].currencies}
        quoted |= {currency for _, currency in self.fixed_rates}
        unquoted = [c for c in self.currencies if c not in quoted]
        if unquoted:
            raise ValueError(
                f"currencies: no source listed quotes {', '.join(unquoted)} "
                f"(they quote {', '.join(sorted(quoted)) or 'nothing'})"
            )
        return self

    @property
    def max_deviation(self) -> Decimal:
        return Decimal(self.max_deviation_percent) / 100

    @property
    def fixed_rates(self) -> dict[tuple[str, str], Decimal]:
        """``fixed`` as {(asset, currency): rate}."""
        return {
            (pair.split("/")[0], pair.split("/")[1]): Decimal(rate)
            for pair, rate in self.fixed.items()
        }
