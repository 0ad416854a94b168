"""When an endpoint is failing, when it recovers, and when its next probe may go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest

from daemon.metrics.webhooks import WebhookMetrics
from daemon.webhooks.endpoint_health import Attempted, EndpointState, after

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
PROBE = timedelta(seconds=30)


def attempt(
    seq: int, status: int | None, at: float = 0, retry_after: float | None = None
) -> Attempted:
    wait = timedelta(seconds=retry_after) if retry_after is not None else None
    return Attempted(seq, T0 + timedelta(seconds=at), status, f"HTTP {status}", wait)


@pytest.mark.parametrize("status", [None, 408, 429, 502, 503, 504])
def test_a_store_that_says_it_is_down_is_failing_at_once(status: int | None) -> None:
    state, healed = after(EndpointState(), attempt(1, status), T0, PROBE)
    assert (state.failing_since, state.next_probe_at, healed) == (T0, T0 + PROBE, False)
    assert (state.failures, state.last_failed_seq, state.last_status_code) == (1, 1, status)


@pytest.mark.parametrize("status", [500, 400, 404, 307])
def test_one_event_refused_again_and_again_is_not_the_store_being_down(status: int) -> None:
    state = EndpointState()
    for n in range(5):
        state, _ = after(state, attempt(7, status, at=n), T0 + timedelta(seconds=n), PROBE)
    assert not state.failing
    assert state.failures == 5
    # A second event refused with no 2xx between: now the store is failing.
    state, _ = after(state, attempt(8, status, at=6), T0 + timedelta(seconds=6), PROBE)
    assert state.failing_since == T0 + timedelta(seconds=6)


def test_410_leaves_the_health_alone() -> None:
    state, healed = after(EndpointState(), attempt(1, 410), T0, PROBE)
    assert not state.failing
    assert not healed
    assert (state.failures, state.last_status_code, state.last_failure_at) == (0, 410, T0)


def test_retry_after_stretches_the_probe_spacing_never_shrinks_it() -> None:
    long, _ = after(EndpointState(), attempt(1, 503, retry_after=600), T0, PROBE)
    assert long.next_probe_at == T0 + timedelta(seconds=600)
    short, _ = after(EndpointState(), attempt(1, 503, retry_after=5), T0, PROBE)
    assert short.next_probe_at == T0 + PROBE
    # A probe that fails with Retry-After pushes the next one out; without, it is kept.
    later, _ = after(
        long, attempt(2, 429, at=700, retry_after=3600), T0 + timedelta(seconds=700), PROBE
    )
    assert later.next_probe_at == T0 + timedelta(seconds=4300)
    kept, _ = after(long, attempt(2, 503, at=700), T0 + timedelta(seconds=700), PROBE)
    assert kept.next_probe_at == long.next_probe_at
    capped, _ = after(EndpointState(), attempt(1, 503, retry_after=9 * 86400), T0, PROBE)
    assert capped.next_probe_at == T0 + timedelta(hours=24)


def test_a_failure_older_than_a_success_does_not_make_it_failing() -> None:
    ok, _ = after(EndpointState(), attempt(1, 200, at=10), T0 + timedelta(seconds=10), PROBE)
    stale, _ = after(ok, attempt(2, 503, at=5), T0 + timedelta(seconds=11), PROBE)
    assert not stale.failing
    assert stale.last_success_at == T0 + timedelta(seconds=10)


@given(
    started=st.integers(min_value=-120, max_value=120),
    status=st.integers(min_value=200, max_value=299),
)
def test_a_2xx_heals_only_when_its_attempt_started_after_the_failure(
    started: int, status: int
) -> None:
    failing, _ = after(EndpointState(), attempt(1, 503), T0, PROBE)
    state, healed = after(failing, attempt(2, status, at=started), T0 + timedelta(minutes=3), PROBE)
    assert healed == (started >= 0)
    assert state.failing == (started < 0)
    assert state.failures == 0
    if healed:
        assert state.next_probe_at is None


@given(st.lists(st.sampled_from([None, 410, 429, 500, 503, 302]), min_size=1, max_size=20))
def test_failures_never_heal_and_always_leave_a_probe_time(statuses: list[int | None]) -> None:
    state = EndpointState()
    for n, status in enumerate(statuses):
        now = T0 + timedelta(seconds=n)
        state, healed = after(state, attempt(n % 3, status, at=n), now, PROBE)
        assert not healed
        if state.failing:
            assert state.next_probe_at is not None
            assert state.failing_since is not None
            assert state.next_probe_at >= state.failing_since + PROBE


def test_the_metrics_name_each_failing_endpoint_and_count_them() -> None:
    registry = CollectorRegistry()
    metrics = WebhookMetrics(registry)
    assert b"paywatch_webhook_endpoints_failing" not in generate_latest(registry)
    metrics.endpoints_failing({})
    assert b"paywatch_webhook_endpoints_failing 0.0" in generate_latest(registry)
    metrics.endpoints_failing({"https://shop.example:443": T0})
    text = generate_latest(registry).decode()
    assert "paywatch_webhook_endpoints_failing 1.0" in text
    series = 'paywatch_webhook_endpoint_failing_since_timestamp_seconds{endpoint="https://shop.example:443"}'
    (line,) = [x for x in text.splitlines() if x.startswith(series)]
    assert float(line.split()[-1]) == T0.timestamp()
