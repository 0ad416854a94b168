"""The rules of a quote (daemon.rates.quotes): exact medians, freshness, min_sources,
outvoting. Pure: no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from daemon.rates.quotes import Observation, Rules, median, quote

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
RULES = Rules(max_age=timedelta(minutes=5), min_sources=2, max_deviation=Decimal("0.1"))
prices = st.decimals(
    min_value=Decimal("0.00000001"), max_value=Decimal("10000000"), places=8, allow_nan=False
)


def seen(name: str, value: str | Decimal, seconds_old: float = 0) -> Observation:
    return Observation(name, Decimal(value), NOW - timedelta(seconds=seconds_old))


def test_the_median_of_an_even_count_is_the_mean_of_the_middle_two() -> None:
    assert median([Decimal("1"), Decimal("2")]) == Decimal("1.5")
    assert median([Decimal("60000.01"), Decimal("60000.02")]) == Decimal("60000.015")
    assert median([Decimal(3), Decimal(1), Decimal(2)]) == Decimal(2)
    # 28 digits and more: past the default context's precision, still exact
    low, high = (
        Decimal("12345678901234567890123.12345678"),
        Decimal("12345678901234567890123.12345679"),
    )
    assert median([high, low]) == Decimal("12345678901234567890123.123456785")


@given(st.lists(prices, min_size=1, max_size=9))
def test_the_median_is_exact_and_halves_the_list(values: list[Decimal]) -> None:
    middle = median(values)
    below = sum(1 for v in values if v < middle)
    above = sum(1 for v in values if v > middle)
    assert below <= len(values) // 2
    assert above <= len(values) // 2
    if len(values) % 2 == 0:
        ordered = sorted(values)
        low, high = ordered[len(values) // 2 - 1], ordered[len(values) // 2]
        assert middle * 2 == low + high  # exact, no rounding


@given(prices, st.integers(min_value=0, max_value=2))
def test_a_source_ten_times_off_is_outvoted(value: Decimal, which: int) -> None:
    answers = [seen("kraken", value), seen("coinbase", value), seen("bitstamp", value)]
    wrong = answers[which]
    answers[which] = Observation(wrong.source, value * 10, wrong.at)
    found = quote("BTC", "EUR", answers, NOW, RULES)
    assert found is not None
    assert found.value == value
    assert wrong.source not in found.sources
    assert len(found.sources) == 2


def test_two_sources_that_disagree_give_no_rate() -> None:
    answers = [seen("kraken", "60000"), seen("coinbase", "600000")]
    assert quote("BTC", "EUR", answers, NOW, RULES) is None


@given(
    st.lists(st.tuples(prices.filter(lambda p: p > 1), st.integers(0, 900)), max_size=5),
    st.integers(min_value=1, max_value=5),
)
def test_only_fresh_answers_count_and_min_sources_are_needed(
    answers: list[tuple[Decimal, int]], needed: int
) -> None:
    rules = Rules(max_age=timedelta(minutes=5), min_sources=needed, max_deviation=Decimal(10**9))
    observations = [seen(f"s{i}", v, age) for i, (v, age) in enumerate(answers)]
    fresh = [o for o in observations if NOW - o.at <= timedelta(minutes=5)]  # type: ignore[operator]
    found = quote("BTC", "EUR", observations, NOW, rules)
    if len(fresh) < needed:
        assert found is None
    else:
        assert found is not None
        assert found.value == median([o.value for o in fresh if o.value is not None])
        assert set(found.sources) == {o.source for o in fresh}
        assert found.at == min(o.at for o in fresh if o.at is not None)


def test_an_answer_exactly_max_age_old_counts_and_one_second_older_does_not() -> None:
    rules = Rules(max_age=timedelta(minutes=5), min_sources=1, max_deviation=Decimal("0.1"))
    assert quote("BTC", "EUR", [seen("kraken", "1", 300)], NOW, rules) is not None
    assert quote("BTC", "EUR", [seen("kraken", "1", 301)], NOW, rules) is None


def test_no_answer_is_no_rate() -> None:
    empty = [Observation("kraken", None, None), Observation("coinbase", None, None)]
    assert quote("BTC", "EUR", empty, NOW, RULES) is None
