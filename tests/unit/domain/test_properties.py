"""Property tests: any sequence of chain news keeps the books right."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.domain.evaluation import Outcome, Terms, evaluate
from daemon.domain.events import plan_events
from daemon.domain.payments import Transfer, TransferKey, merge
from daemon.domain.states import (
    OPEN_STATUSES,
    TRANSITIONS,
    EventType,
    OrderException,
    OrderStatus,
    can_transition,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
KEYS = [TransferKey(tx, idx) for tx in ("aa", "bb", "cc") for idx in (-1, 0, 1)]


@dataclass(frozen=True)
class Observe:
    transfer: Transfer


@dataclass(frozen=True)
class Tick:
    minutes: int


@dataclass(frozen=True)
class Cancel:
    pass


def transfers(start: datetime) -> st.SearchStrategy[Transfer]:
    return st.builds(
        Transfer,
        key=st.sampled_from(KEYS),
        amount=st.integers(min_value=1, max_value=1500),
        seen_at=st.integers(min_value=0, max_value=40 * 60).map(
            lambda m: start + timedelta(minutes=m)
        ),
        confirmations=st.integers(min_value=0, max_value=8),
        finalized=st.booleans(),
        removed=st.booleans(),
    )


steps = st.lists(
    st.one_of(
        transfers(T0).map(Observe),
        st.integers(min_value=1, max_value=600).map(Tick),
        st.just(Cancel()),
    ),
    max_size=30,
)
terms_strategy = st.builds(
    Terms,
    amount_due=st.integers(min_value=1, max_value=3000),
    expires_at=st.just(T0 + timedelta(minutes=15)),
    late_until=st.just(T0 + timedelta(hours=2)),
    confirmations=st.one_of(st.none(), st.integers(min_value=0, max_value=6)),
    tolerance_ppm=st.sampled_from([0, 5_000, 100_000]),
)


@settings(max_examples=400, deadline=None)
@given(terms_strategy, steps)
def test_any_history_keeps_the_books(terms: Terms, history: list[object]) -> None:
    now = T0
    status = OrderStatus.PENDING
    ledger: dict[TransferKey, Transfer] = {}
    outcome = Outcome(status, OrderException.NONE, 0, 0)
    active_by_events: dict[TransferKey, int] = {}
    for step in history:
        old = ledger
        start = status
        if isinstance(step, Observe):
            ledger = merge(ledger, step.transfer)
        elif isinstance(step, Tick):
            now += timedelta(minutes=step.minutes)
        elif status in OPEN_STATUSES:
            start = OrderStatus.CANCELLED
        after = evaluate(terms, start, ledger.values(), now)
        assert can_transition(status, after.status), (status, after.status)

        # Nothing double-counted, nothing lost: the totals are the distinct live transfers.
        live = [t for t in ledger.values() if not t.removed]
        assert after.received == sum(t.amount for t in live)
        assert after.received_confirmed == sum(t.amount for t in live if terms.is_confirmed(t))
        assert after.received_confirmed <= after.received

        # The status means what it says.
        if after.status is OrderStatus.PAID:
            need = max(1, terms.amount_due - terms.amount_due * terms.tolerance_ppm // 1_000_000)
            assert after.received >= need
        if after.exception is OrderException.UNDERPAID:
            assert 0 < after.received < terms.amount_due
        if status is OrderStatus.CANCELLED:
            assert after.status is OrderStatus.CANCELLED

        # Events: each transfer is detected before it is reversed, and alternates.
        for event in plan_events(terms, outcome, after, old, ledger):
            if event.transfer is None:
                continue
            if event.type is EventType.PAYMENT_DETECTED:
                assert active_by_events.get(event.transfer, 0) == 0
                active_by_events[event.transfer] = 1
            elif event.type is EventType.PAYMENT_REVERSED:
                assert active_by_events.get(event.transfer) == 1
                active_by_events[event.transfer] = 0
        assert sum(active_by_events.values()) == len(live)
        status, outcome = after.status, after


@settings(max_examples=200, deadline=None)
@given(terms_strategy, st.lists(transfers(T0), max_size=12), st.integers(0, 3000))
def test_evaluation_is_idempotent(terms: Terms, seen: list[Transfer], minutes: int) -> None:
    ledger: dict[TransferKey, Transfer] = {}
    for t in seen:
        ledger = merge(ledger, t)
    now = T0 + timedelta(minutes=minutes)
    once = evaluate(terms, OrderStatus.PENDING, ledger.values(), now)
    twice = evaluate(terms, once.status, ledger.values(), now)
    assert twice == once


@given(st.permutations(list(range(6))))
def test_order_of_observations_does_not_change_totals(order: list[int]) -> None:
    items = [
        Transfer(KEYS[i], 100 + i, T0 + timedelta(minutes=i), confirmations=i) for i in range(6)
    ]
    ledger: dict[TransferKey, Transfer] = {}
    for i in order:
        ledger = merge(ledger, items[i])
    terms = Terms(500, T0 + timedelta(minutes=30), T0 + timedelta(hours=1), 1)
    outcome = evaluate(terms, OrderStatus.PENDING, ledger.values(), T0 + timedelta(minutes=10))
    assert outcome.received == sum(100 + i for i in range(6))


def test_table_has_no_way_out_of_cancelled_and_only_open_orders_cancel() -> None:
    assert set(TRANSITIONS) == set(OrderStatus)
    assert TRANSITIONS[OrderStatus.CANCELLED] == frozenset()
    cancellers = {s for s, targets in TRANSITIONS.items() if OrderStatus.CANCELLED in targets}
    assert cancellers == set(OPEN_STATUSES)
