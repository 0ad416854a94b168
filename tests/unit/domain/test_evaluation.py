"""The order evaluation, by example and by property (hypothesis)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from daemon.domain.evaluation import Terms, evaluate
from daemon.domain.payments import Transfer, TransferKey, merge
from daemon.domain.states import OrderException, OrderStatus

S, X = OrderStatus, OrderException
T0 = datetime(2026, 1, 1, tzinfo=UTC)
TERMS = Terms(
    amount_due=1000,
    expires_at=T0 + timedelta(minutes=15),
    late_until=T0 + timedelta(hours=24, minutes=15),
    confirmations=2,
)


def pay(
    amount: int, *, tx: str = "a", at: int = 1, conf: int = 0, removed: bool = False
) -> Transfer:
    return Transfer(TransferKey(tx, 0), amount, T0 + timedelta(minutes=at), conf, removed=removed)


def status_of(
    *transfers: Transfer,
    now_min: int = 2,
    status: OrderStatus = OrderStatus.PENDING,
    terms: Terms = TERMS,
) -> tuple[OrderStatus, OrderException]:
    outcome = evaluate(terms, status, transfers, T0 + timedelta(minutes=now_min))
    return outcome.status, outcome.exception


def test_nothing_paid() -> None:
    assert status_of() == (S.PENDING, X.NONE)
    assert status_of(now_min=16) == (S.EXPIRED, X.NONE)


def test_exact_payment_detected_then_confirmed() -> None:
    assert status_of(pay(1000)) == (S.PROCESSING, X.NONE)
    assert status_of(pay(1000, conf=2)) == (S.PAID, X.NONE)
    assert status_of(pay(1000, conf=2), status=S.PROCESSING) == (S.PAID, X.NONE)


def test_underpaid_and_overpaid() -> None:
    assert status_of(pay(999, conf=5)) == (S.PENDING, X.UNDERPAID)
    assert status_of(pay(999, conf=5), now_min=20) == (S.EXPIRED, X.UNDERPAID)
    assert status_of(pay(1001, conf=5)) == (S.PAID, X.OVERPAID)


def test_split_payment_counts_every_part_once() -> None:
    parts = [pay(400, tx="a", conf=3), pay(600, tx="b", at=3, conf=2)]
    outcome = evaluate(TERMS, S.PENDING, parts, T0 + timedelta(minutes=5))
    assert (outcome.status, outcome.received, outcome.received_confirmed) == (S.PAID, 1000, 1000)


def test_tolerance_accepts_slightly_less() -> None:
    terms = replace(TERMS, tolerance_ppm=10_000)  # 1 %
    assert status_of(pay(990, conf=2), terms=terms) == (S.PAID, X.NONE)
    assert status_of(pay(989, conf=2), terms=terms) == (S.PENDING, X.UNDERPAID)


def test_full_amount_after_expiry_is_paid_late_once_confirmed() -> None:
    late = pay(1000, at=20)
    assert status_of(late, now_min=21, status=S.EXPIRED) == (S.EXPIRED, X.NONE)
    confirmed = replace(late, confirmations=2)
    assert status_of(confirmed, now_min=30, status=S.EXPIRED) == (S.EXPIRED, X.PAID_LATE)


def test_payment_proven_in_time_reopens_an_expired_order() -> None:
    # The watcher was down; the block that paid predates expiry.
    assert status_of(pay(1000, at=10, conf=6), now_min=60, status=S.EXPIRED) == (S.PAID, X.NONE)


def test_unconfirmed_past_late_window_is_invalid_and_can_still_be_paid() -> None:
    day = 24 * 60 + 20
    assert status_of(pay(1000), now_min=day, status=S.PROCESSING) == (S.INVALID, X.NONE)
    assert status_of(pay(1000, conf=2), now_min=day + 5, status=S.INVALID) == (S.PAID, X.NONE)


def test_reorg_takes_a_paid_order_back() -> None:
    gone = pay(1000, conf=3, removed=True)
    assert status_of(gone, status=S.PAID) == (S.PENDING, X.NONE)
    assert status_of(gone, status=S.PAID, now_min=30) == (S.EXPIRED, X.NONE)


def test_paid_stays_paid_when_a_reorg_only_lowers_confirmations() -> None:
    assert status_of(pay(1000, conf=0), status=S.PAID) == (S.PAID, X.NONE)


def test_finalized_policy() -> None:
    terms = replace(TERMS, confirmations=None)
    deep = pay(1000, conf=500)
    assert status_of(deep, terms=terms) == (S.PROCESSING, X.NONE)
    assert status_of(replace(deep, finalized=True), terms=terms) == (S.PAID, X.NONE)


def test_cancelled_is_final_but_payments_still_show() -> None:
    outcome = evaluate(TERMS, S.CANCELLED, [pay(400)], T0)
    assert (outcome.status, outcome.exception, outcome.received) == (S.CANCELLED, X.UNDERPAID, 400)


def test_merge_keeps_first_sighting_and_latest_news() -> None:
    first = pay(1000, at=1)
    later = replace(first, seen_at=T0 + timedelta(minutes=9), confirmations=4)
    ledger = merge(merge({}, first), later)
    assert list(ledger.values()) == [replace(later, seen_at=first.seen_at)]


def test_transfer_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="positive"):
        pay(0)
    with pytest.raises(ValueError, match="negative"):
        pay(1, conf=-1)
