"""A transfer observed again in the block it is known in (a rescan) never lowers what
is known: the same or less news changes nothing and fires no event."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from daemon.domain.evaluation import Terms, evaluate
from daemon.domain.events import plan_events
from daemon.domain.payments import Transfer, TransferKey, merge, seen_again
from daemon.domain.states import OrderStatus

T0 = datetime(2026, 1, 1, tzinfo=UTC)
KEY = TransferKey("0x" + "ab" * 32, 0)

minutes = st.integers(min_value=0, max_value=60).map(lambda m: T0 + timedelta(minutes=m))
known_transfers = st.builds(
    Transfer,
    key=st.just(KEY),
    amount=st.integers(min_value=1, max_value=2000),
    seen_at=minutes,
    confirmations=st.integers(min_value=0, max_value=100),
    finalized=st.booleans(),
    log_index=st.one_of(st.none(), st.integers(min_value=0, max_value=500)),
)
terms = st.builds(
    Terms,
    amount_due=st.integers(min_value=1, max_value=2000),
    expires_at=minutes,
    late_until=st.just(T0 + timedelta(hours=2)),
    confirmations=st.one_of(st.none(), st.integers(min_value=1, max_value=12)),
)


@given(known_transfers, st.data())
def test_less_news_in_the_same_block_changes_nothing(known: Transfer, data: st.DataObject) -> None:
    # A rescan's sighting: depth counted to an earlier reference (lower), the finalized
    # tag unknown, seen no earlier than the watcher first saw it.
    observation = replace(
        known,
        confirmations=data.draw(st.integers(min_value=0, max_value=known.confirmations)),
        finalized=data.draw(st.booleans()) and known.finalized,
        seen_at=known.seen_at + timedelta(minutes=data.draw(st.integers(0, 600))),
    )
    ledger = {KEY: known}
    assert merge(ledger, seen_again(known, observation)) == ledger


@given(known_transfers, known_transfers, terms)
def test_news_in_the_same_block_never_lowers_what_is_known(
    known: Transfer, news: Transfer, order: Terms
) -> None:
    after = seen_again(known, replace(news, amount=known.amount))
    assert after.confirmations >= known.confirmations
    assert after.finalized >= known.finalized
    assert after.seen_at == min(known.seen_at, news.seen_at)
    # So a confirmed transfer stays confirmed, and nothing fires for it again.
    old = {KEY: known}
    new = merge(old, after)
    if order.is_confirmed(known):
        assert order.is_confirmed(new[KEY])
    status = OrderStatus.PENDING
    before = evaluate(order, status, old.values(), T0 + timedelta(hours=3))
    outcome = evaluate(order, before.status, new.values(), T0 + timedelta(hours=3))
    assert outcome.received == before.received
    assert outcome.received_confirmed >= before.received_confirmed
    planned = plan_events(order, before, outcome, old, new)
    assert all(e.type.value != "order.payment_reversed" for e in planned)
    assert all(e.type.value != "order.payment_detected" for e in planned)


def test_a_finalized_transfer_seen_again_by_a_rescan_stays_finalized() -> None:
    known = Transfer(KEY, 5, T0, confirmations=70, finalized=True, log_index=3)
    rescanned = Transfer(KEY, 5, T0 + timedelta(days=1), confirmations=12, log_index=3)
    assert seen_again(known, rescanned) == known
    order = Terms(5, T0 + timedelta(minutes=15), T0 + timedelta(hours=1), None)
    ledger = {KEY: known}
    outcome = evaluate(order, OrderStatus.PENDING, [known], T0)
    assert outcome.status is OrderStatus.PAID
    new = merge(ledger, seen_again(known, rescanned))
    assert plan_events(order, outcome, outcome, ledger, new) == []
    # Without it, the rescan's sighting would have undone the finality.
    assert not order.is_confirmed(merge(ledger, rescanned)[KEY])
