"""From the sources' answers to one rate: pure rules, no I/O, exact Decimals.

For one (asset, currency) pair each source has at most one latest answer. An answer
counts when it is **fresh** (made at most ``max_age`` before now; its time is the
exchange's own when its format carries one, never later than when paywatch fetched it)
and **agrees** (within ``max_deviation`` of the median of the fresh answers: a source
answering ten times off the others is outvoted). The rate is the median of the answers
that count, the mean of the middle two for an even count, computed exactly; fewer than
``min_sources`` answers that count give no rate at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, Inexact, localcontext


@dataclass(frozen=True)
class Observation:
    """A source's latest answer for one pair (``value`` None: it has none)."""

    source: str
    value: Decimal | None
    at: datetime | None  # when the price was made (at the latest when it was fetched)


@dataclass(frozen=True)
class Quote:
    """A rate: ``value`` units of ``currency`` per one unit of ``asset``, the median of
    the answers of ``sources`` (or ``("fixed",)``), the oldest of them made at ``at``."""

    asset: str
    currency: str
    value: Decimal
    sources: tuple[str, ...]
    at: datetime


@dataclass(frozen=True)
class Rules:
    max_age: timedelta
    min_sources: int
    max_deviation: Decimal  # a fraction: Decimal("0.1") is 10 %


def median(values: Sequence[Decimal]) -> Decimal:
    """The median, exactly: the middle value, or the mean of the middle two."""
    if not values:
        raise ValueError("the median of no values")
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    low, high = ordered[middle - 1], ordered[middle]
    digits = max(len(low.as_tuple().digits), len(high.as_tuple().digits))
    exponent = max(abs(int(low.as_tuple().exponent)), abs(int(high.as_tuple().exponent)))
    with localcontext() as ctx:
        ctx.prec = digits + exponent + 4  # enough for the sum and the half: exact
        ctx.traps[Inexact] = True
        return (low + high) / 2


def age(observation: Observation, now: datetime) -> timedelta | None:
    if observation.value is None or observation.at is None:
        return None
    return max(now - observation.at, timedelta(0))


def fresh(observation: Observation, now: datetime, max_age: timedelta) -> bool:
    seconds = age(observation, now)
    return seconds is not None and seconds <= max_age


def counted(observations: Sequence[Observation], now: datetime, rules: Rules) -> list[Observation]:
    """The answers that count: fresh, and within ``max_deviation`` of the fresh ones'
    median."""
    ready = [o for o in observations if fresh(o, now, rules.max_age)]
    if not ready:
        return []
    middle = median([o.value for o in ready if o.value is not None])
    bound = middle * rules.max_deviation
    return [o for o in ready if o.value is not None and abs(o.value - middle) <= bound]


def quote(
    asset: str, currency: str, observations: Sequence[Observation], now: datetime, rules: Rules
) -> Quote | None:
    """The rate for the pair from ``observations``, or None when too few answers count."""
    used = counted(observations, now, rules)
    if len(used) < rules.min_sources:
        return None
    times = [o.at for o in used if o.at is not None]
    return Quote(
        asset=asset,
        currency=currency,
        value=median([o.value for o in used if o.value is not None]),
        sources=tuple(sorted(o.source for o in used)),
        at=min(times),
    )
