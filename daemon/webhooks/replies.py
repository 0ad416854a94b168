"""What a store's reply to one attempt means for its delivery: delivered, retried
(when), dead or gone (:mod:`daemon.webhooks.retry_policy`), and whether the attempt
counts against the delivery's lifetime.

A probe of a failing endpoint sent before the delivery's own next attempt (an
*early* probe) that fails is the endpoint's failure, not the delivery's: the
delivery keeps its attempt count and its next time. Each failure is logged once,
with what comes next.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from daemon.webhooks.claims import AttemptRecord, Claimed
from daemon.webhooks.retry_policy import Decision, DeliveryStatus, decide, parse_retry_after
from daemon.webhooks.sender import Reply

log = logging.getLogger("paywatch.webhooks")


class AttemptObserver(Protocol):
    def attempted(self, outcome: DeliveryStatus, seconds: float, event_age: float | None) -> None:
        """An attempt took ``seconds`` and left its delivery ``outcome`` (delivered,
        retrying, dead or gone); ``event_age``: seconds since its event was written, when
        it was delivered. Called on the event loop for every attempt: must be cheap."""

    def endpoints_failing(self, failing: Mapping[str, datetime]) -> None:
        """The endpoints failing (and since when) as the last claim found them."""


def observe(
    observer: AttemptObserver, record: AttemptRecord, latency_ms: int, now: datetime
) -> None:
    """Tell ``observer`` of one finished attempt (with the event's age when delivered)."""
    status, created = record.decision.status, record.delivery.created_at
    age = None
    if status is DeliveryStatus.DELIVERED and created is not None:
        age = max((now - created).total_seconds(), 0.0)
    observer.attempted(status, latency_ms / 1000, age)


def judge_reply(
    delivery: Claimed, attempted_at: datetime, reply: Reply, now: datetime, rng: random.Random
) -> AttemptRecord:
    """The record of ``delivery``'s attempt at ``attempted_at`` that got ``reply``."""
    wait = parse_retry_after(reply.retry_after, now) if reply.status_code else None
    decision = decide(reply.status_code, delivery.attempt, now, rng, wait)
    counted = True
    if delivery.early and decision.status in (DeliveryStatus.RETRYING, DeliveryStatus.DEAD):
        decision = Decision(DeliveryStatus.RETRYING, delivery.scheduled_at)
        counted = False
    if decision.status is not DeliveryStatus.DELIVERED:
        when = decision.next_attempt_at
        later = f"; next attempt at {when:%Y-%m-%d %H:%M:%S}Z" if when else ""
        if not counted:
            later = " (a probe of the failing endpoint; not counted)"
        log.warning(
            "webhook %s to %s, attempt %d: %s -> %s%s",
            delivery.id,
            delivery.endpoint,
            delivery.attempt,
            reply.error,
            decision.status,
            later,
        )
    return AttemptRecord(
        delivery,
        attempted_at,
        reply.status_code,
        reply.latency_ms,
        reply.error,
        reply.excerpt,
        decision,
        wait,
        counted,
    )
