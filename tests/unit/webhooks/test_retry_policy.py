"""What an attempt's outcome leads to: the schedule, jitter, Retry-After, 410, dead letter."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.webhooks.retry_policy import (
    MAX_ATTEMPTS,
    MAX_RETRY_AFTER,
    SCHEDULE,
    DeliveryStatus,
    decide,
    parse_retry_after,
)

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_the_schedule_is_the_standard_webhooks_example() -> None:
    minutes = [s.total_seconds() / 60 for s in SCHEDULE]
    assert minutes == [0, 5 / 60, 5, 30, 120, 300, 600, 840, 1200, 1440]
    assert timedelta(days=3) < sum(SCHEDULE, timedelta()) < timedelta(days=3, hours=4)


@pytest.mark.parametrize("code", [200, 201, 204, 299])
def test_2xx_is_delivered(code: int) -> None:
    assert decide(code, 1, NOW, random.Random(1)).status is DeliveryStatus.DELIVERED


def test_410_is_gone_at_once() -> None:
    decision = decide(410, 1, NOW, random.Random(1))
    assert (decision.status, decision.next_attempt_at) == (DeliveryStatus.GONE, None)


@pytest.mark.parametrize("code", [None, 500, 502, 503, 504, 408, 429, 400, 401, 404, 301, 307])
def test_everything_else_is_retried_until_the_last_attempt(code: int | None) -> None:
    rng = random.Random(7)
    for attempt in range(1, MAX_ATTEMPTS):
        decision = decide(code, attempt, NOW, rng)
        assert decision.status is DeliveryStatus.RETRYING
        assert decision.next_attempt_at is not None
    assert decide(code, MAX_ATTEMPTS, NOW, rng).status is DeliveryStatus.DEAD


@given(attempt=st.integers(1, MAX_ATTEMPTS - 1), seed=st.integers(0, 2**32))
def test_jitter_stays_within_a_fifth_of_each_wait(attempt: int, seed: int) -> None:
    when = decide(503, attempt, NOW, random.Random(seed)).next_attempt_at
    assert when is not None
    assert SCHEDULE[attempt] * 0.8 <= when - NOW <= SCHEDULE[attempt] * 1.2


def test_jitter_spreads_retries() -> None:
    waits = {decide(503, 3, NOW, random.Random(seed)).next_attempt_at for seed in range(20)}
    assert len(waits) == 20


def test_retry_after_lengthens_but_never_shortens_the_wait() -> None:
    rng = random.Random(3)
    longer = decide(429, 1, NOW, rng, retry_after=timedelta(minutes=10)).next_attempt_at
    assert longer == NOW + timedelta(minutes=10)
    shorter = decide(429, 3, NOW, rng, retry_after=timedelta(seconds=1)).next_attempt_at
    assert shorter is not None
    assert shorter - NOW >= SCHEDULE[3] * 0.8
    capped = decide(503, 1, NOW, rng, retry_after=timedelta(days=30)).next_attempt_at
    assert capped == NOW + MAX_RETRY_AFTER


@pytest.mark.parametrize(
    ("header", "wait"),
    [
        ("120", timedelta(seconds=120)),
        (" 0 ", timedelta(0)),
        ("Thu, 01 Jan 2026 13:30:00 GMT", timedelta(minutes=90)),
        ("Thu, 01 Jan 2026 11:00:00 GMT", timedelta(0)),  # in the past: no extra wait
        ("99999999999", MAX_RETRY_AFTER),
        (None, None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
    ],
)
def test_parse_retry_after(header: str | None, wait: timedelta | None) -> None:
    assert parse_retry_after(header, NOW) == wait
