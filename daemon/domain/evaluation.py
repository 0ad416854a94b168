"""Turn an order and its observed transfers into status and exception.

This is the single place that decides what an order's money means; everything
that changes an order (a block, a mempool sighting, a reorg, the clock, the
merchant) goes through :func:`evaluate`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from daemon.domain.money import minimum_accepted
from daemon.domain.payments import Transfer
from daemon.domain.states import OrderException, OrderStatus, check_transition

S = OrderStatus
X = OrderException


@dataclass(frozen=True, slots=True)
class Terms:
    """What the order asks for. ``confirmations`` None means the chain's finalized tag."""

    amount_due: int
    expires_at: datetime
    late_until: datetime
    confirmations: int | None
    tolerance_ppm: int = 0

    def is_confirmed(self, transfer: Transfer) -> bool:
        if transfer.removed:
            return False
        if self.confirmations is None:
            return transfer.finalized
        return transfer.finalized or transfer.confirmations >= self.confirmations


@dataclass(frozen=True, slots=True)
class Outcome:
    status: OrderStatus
    exception: OrderException
    received: int
    received_confirmed: int


def evaluate(
    terms: Terms, status: OrderStatus, transfers: Iterable[Transfer], now: datetime
) -> Outcome:
    """The order's status and exception given everything observed so far.

    ``transfers`` holds each transfer once (see :func:`daemon.domain.payments.merge`).
    Raises :class:`TransitionError` if the result is a move the table forbids,
    which would be a bug, never an input problem.
    """
    active = sorted((t for t in transfers if not t.removed), key=lambda t: (t.seen_at, t.key))
    received = sum(t.amount for t in active)
    received_confirmed = sum(t.amount for t in active if terms.is_confirmed(t))
    need = max(1, minimum_accepted(terms.amount_due, terms.tolerance_ppm))

    full_at: datetime | None = None
    running = 0
    for transfer in active:
        running += transfer.amount
        if running >= need:
            full_at = transfer.seen_at
            break
    in_time = full_at is not None and full_at <= terms.expires_at
    confirmed_full = received_confirmed >= need

    after = _status(terms, status, in_time=in_time, confirmed_full=confirmed_full, now=now)
    check_transition(status, after)
    return Outcome(
        status=after,
        exception=_exception(
            after,
            received=received,
            due=terms.amount_due,
            need=need,
            late_paid=(full_at is not None and not in_time and confirmed_full),
        ),
        received=received,
        received_confirmed=received_confirmed,
    )


def _status(
    terms: Terms, status: OrderStatus, *, in_time: bool, confirmed_full: bool, now: datetime
) -> OrderStatus:
    if status is S.CANCELLED:
        return S.CANCELLED
    if in_time:
        if confirmed_full or status is S.PAID:
            # A paid order stays paid while its full amount is still there, even if a
            # reorg moved the payment to a newer block with fewer confirmations.
            return S.PAID
        if now > terms.late_until:
            return S.INVALID
        return S.PROCESSING
    return S.EXPIRED if now > terms.expires_at else S.PENDING


def _exception(
    status: OrderStatus, *, received: int, due: int, need: int, late_paid: bool
) -> OrderException:
    if received == 0:
        return X.NONE
    if late_paid and status is S.EXPIRED:
        return X.PAID_LATE
    if received < need:
        return X.UNDERPAID
    if received > due:
        return X.OVERPAID
    return X.NONE
