"""The one retry policy (chains/retry.py): pauses within bounds, growing without jitter,
capped, and Retry-After honoured and capped. Hypothesis draws the policies; every
random draw comes from a seeded ``random.Random``."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chains.retry import RATE_LIMITED, Backoff, Retry, parse_retry_after

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

seconds = st.floats(0.01, 1000.0, allow_nan=False)
exponential = st.builds(
    Retry,
    initial=seconds,
    factor=st.floats(1.0, 10.0),
    maximum=seconds,
    jitter=st.sampled_from([0.0, 0.1, 0.2, 0.5]),
)
tables = st.builds(
    Retry,
    table=st.lists(seconds, min_size=1, max_size=12).map(tuple),
    maximum=st.floats(0.0, 2000.0),
    jitter=st.sampled_from([0.0, 0.2]),
)
policies = st.one_of(exponential, tables)
failures = st.integers(1, 10_000)


@given(policy=policies, n=failures, seed=st.integers(0, 2**32))
def test_every_pause_is_within_its_bounds(policy: Retry, n: int, seed: int) -> None:
    planned = policy.planned(n)
    pause = policy.delay(n, random.Random(seed))
    assert 0.0 <= pause <= policy.maximum
    assert planned * (1 - policy.jitter) - 1e-9 <= pause <= planned * (1 + policy.jitter) + 1e-9


@given(policy=policies, n=failures)
def test_without_jitter_pauses_never_shrink_until_the_table_does(policy: Retry, n: int) -> None:
    if policy.table and list(policy.table) != sorted(policy.table):
        return  # a table's own order is the policy
    assert policy.planned(n) <= policy.planned(n + 1)
    if not policy.jitter:
        assert policy.delay(n) == policy.planned(n)


@given(policy=exponential, n=failures)
def test_exponential_pauses_are_initial_times_factor_capped(policy: Retry, n: int) -> None:
    expected = policy.initial * policy.factor ** min(n - 1, 60)
    if n - 1 <= 60:
        assert policy.planned(n) == pytest.approx(min(expected, policy.maximum))
    else:
        assert policy.planned(n) <= policy.maximum


def test_the_documented_schedules() -> None:
    supervisor = Retry(initial=1.0, factor=2.0, maximum=60.0)
    assert [supervisor.delay(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    table = Retry(table=(5.0, 300.0), maximum=float("inf"))
    assert [table.delay(n) for n in (1, 2, 3, 99)] == [5.0, 300.0, 300.0, 300.0]


@given(
    policy=policies,
    n=failures,
    asked=st.floats(-10.0, 1e9),
    cap=st.floats(0.0, 1e5),
    seed=st.integers(0, 2**32),
)
def test_retry_after_is_honoured_and_capped(
    policy: Retry, n: int, asked: float, cap: float, seed: int
) -> None:
    replaces = replace(policy, retry_after="replaces", retry_after_cap=cap)
    lengthens = replace(policy, retry_after="lengthens", retry_after_cap=cap)
    ignored = replace(policy, retry_after="ignored", retry_after_cap=cap)
    honoured = min(max(asked, 0.0), cap)
    pause = policy.delay(n, random.Random(seed))
    assert replaces.wait(n, asked, random.Random(seed)) == honoured
    assert lengthens.wait(n, asked, random.Random(seed)) == max(pause, honoured)
    assert ignored.wait(n, asked, random.Random(seed)) == pause
    assert replaces.wait(n, None, random.Random(seed)) == pause


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Thu, 01 Jan 2026 13:30:00 GMT", 5400.0),
        ("Thu, 01 Jan 2026 11:00:00 GMT", 0.0),  # in the past: no wait
        ("Fri, 02 Jan 2026 13:30:00 GMT", 3600.0 * 10),  # capped
        ("99999999999", 36000.0),
        ("9" * 400, 36000.0),
        (None, None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("", None),
        ("Thu, 01 Jan 2026 13:30:00", None),  # no zone: not an HTTP date
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, cap=36000.0, now=NOW) == seconds


@given(header=st.text(max_size=40), cap=st.floats(0.0, 1e6))
def test_parse_retry_after_never_raises_and_stays_within_the_cap(header: str, cap: float) -> None:
    seconds = parse_retry_after(header, cap=cap, now=NOW)
    assert seconds is None or 0.0 <= seconds <= cap


def test_a_policy_reads_retry_after_its_way() -> None:
    assert Retry(retry_after_cap=10.0).retry_after_seconds("30", NOW) == 10.0
    assert Retry(retry_after="ignored").retry_after_seconds("30", NOW) is None
    later = (NOW + timedelta(seconds=7)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert Retry(retry_after_cap=10.0).retry_after_seconds(later, NOW) == 7.0


def test_giving_up_and_what_is_worth_another_try() -> None:
    policy = Retry(tries=5, deadline=30.0, statuses=frozenset({429}), errors=(TimeoutError,))
    assert not policy.gives_up(4, 29.0)
    assert policy.gives_up(5, 0.0)
    assert policy.gives_up(1, 30.0)
    assert not Retry().gives_up(10**6, 1e9)
    assert policy.retries_status(429)
    assert not policy.retries_status(500)
    assert policy.retries_error(TimeoutError())
    assert not policy.retries_error(ValueError())


def test_backoff_counts_failures_in_a_row_and_starts_over() -> None:
    backoff = Backoff(Retry(initial=0.5, factor=2.0, maximum=30.0))
    assert [backoff.failed() for _ in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    backoff.succeeded()
    assert backoff.failed() == 0.5


@pytest.mark.parametrize(
    "bad",
    [
        {"initial": -1.0},
        {"factor": 0.5},
        {"maximum": -1.0},
        {"jitter": 1.0},
        {"table": (1.0, -2.0)},
        {"tries": 0},
        {"initial": float("nan")},
    ],
)
def test_nonsense_policies_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"retry policy|jitter|table|tries"):
        Retry(**bad)  # type: ignore[arg-type]


def test_rate_limited_is_the_old_node_and_tatum_schedule() -> None:
    """Four more tries after 0.25, 0.5, 1 and 2 s; Retry-After instead, at most 10 s."""
    assert [RATE_LIMITED.wait_for_answer(n, None) for n in range(1, 5)] == [0.25, 0.5, 1, 2]
    assert RATE_LIMITED.wait_for_answer(1, "0") == 0.0
    assert RATE_LIMITED.wait_for_answer(1, "3") == 3.0
    assert RATE_LIMITED.wait_for_answer(1, "600") == 10.0
    assert RATE_LIMITED.gives_up(5)
    assert not RATE_LIMITED.gives_up(4)
    assert RATE_LIMITED.retries_status(429)
