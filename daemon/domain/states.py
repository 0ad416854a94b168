"""Order statuses, exceptions, event types and the one transition table."""

from __future__ import annotations

from enum import StrEnum

from daemon.errors import DomainError


class OrderStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    PAID = "paid"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    INVALID = "invalid"


class OrderException(StrEnum):
    NONE = "none"
    UNDERPAID = "underpaid"
    OVERPAID = "overpaid"
    PAID_LATE = "paid_late"


class EventType(StrEnum):
    CREATED = "order.created"
    PAYMENT_DETECTED = "order.payment_detected"
    PAYMENT_CONFIRMED = "order.payment_confirmed"
    PAID = "order.paid"
    EXPIRED = "order.expired"
    CANCELLED = "order.cancelled"
    INVALID = "order.invalid"
    PAYMENT_REVERSED = "order.payment_reversed"
    PAID_LATE = "order.paid_late"


S = OrderStatus

# The one transition table: from-status -> the statuses it may move to.
# Moves backwards happen only when a payment vanishes (reorg, RBF, conflict);
# moves out of `expired` only when a payment proven to predate expiry shows up
# late (the watcher was catching up after downtime). Such a catch-up may also
# find an in-time payment still unconfirmed after the late window: `invalid`.
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING: frozenset({S.PROCESSING, S.PAID, S.EXPIRED, S.CANCELLED, S.INVALID}),
    S.PROCESSING: frozenset({S.PAID, S.INVALID, S.PENDING, S.EXPIRED, S.CANCELLED}),
    S.PAID: frozenset({S.PENDING, S.EXPIRED}),
    S.EXPIRED: frozenset({S.PROCESSING, S.PAID, S.INVALID}),
    S.INVALID: frozenset({S.PAID, S.EXPIRED}),
    S.CANCELLED: frozenset(),
}

# The event a move into a status fires (moves into pending/processing are
# reported by the payment events that cause them).
STATUS_EVENTS: dict[OrderStatus, EventType] = {
    S.PAID: EventType.PAID,
    S.EXPIRED: EventType.EXPIRED,
    S.CANCELLED: EventType.CANCELLED,
    S.INVALID: EventType.INVALID,
}

OPEN_STATUSES = frozenset({S.PENDING, S.PROCESSING})


class TransitionError(DomainError):
    """A move the transition table forbids."""

    def __init__(self, before: OrderStatus, after: OrderStatus) -> None:
        super().__init__(f"an order cannot move from {before} to {after}")
        self.before = before
        self.after = after


def can_transition(before: OrderStatus, after: OrderStatus) -> bool:
    return before == after or after in TRANSITIONS[before]


def check_transition(before: OrderStatus, after: OrderStatus) -> None:
    if not can_transition(before, after):
        raise TransitionError(before, after)
