"""Which events a change of an order fires: a pure diff of before and after."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from daemon.domain.evaluation import Outcome, Terms
from daemon.domain.payments import Transfer, TransferKey
from daemon.domain.states import STATUS_EVENTS, EventType, OrderException


@dataclass(frozen=True, slots=True)
class PlannedEvent:
    type: EventType
    transfer: TransferKey | None = None


def plan_events(
    terms: Terms,
    before: Outcome,
    after: Outcome,
    old: Mapping[TransferKey, Transfer],
    new: Mapping[TransferKey, Transfer],
) -> list[PlannedEvent]:
    """Payment events first (in key order), then the status and exception events."""
    events: list[PlannedEvent] = []
    for key in sorted(new):
        now_t, was_t = new[key], old.get(key)
        was_active = was_t is not None and not was_t.removed
        if now_t.removed:
            if was_active:
                events.append(PlannedEvent(EventType.PAYMENT_REVERSED, key))
            continue
        if not was_active:
            events.append(PlannedEvent(EventType.PAYMENT_DETECTED, key))
        was_confirmed = was_t is not None and was_active and terms.is_confirmed(was_t)
        if terms.is_confirmed(now_t) and not was_confirmed:
            events.append(PlannedEvent(EventType.PAYMENT_CONFIRMED, key))
    for key in sorted(set(old) - set(new)):
        if not old[key].removed:
            events.append(PlannedEvent(EventType.PAYMENT_REVERSED, key))
    if after.status != before.status and after.status in STATUS_EVENTS:
        events.append(PlannedEvent(STATUS_EVENTS[after.status]))
    if (
        after.exception is OrderException.PAID_LATE
        and before.exception is not OrderException.PAID_LATE
    ):
        events.append(PlannedEvent(EventType.PAID_LATE))
    return events
