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
from datetime import datetime

from daemon.webhooks.outbox import AttemptRecord, Claimed
from daemon.webhooks.retry_policy import Decision, DeliveryStatus, decide, parse_retry_after
from daemon.webhooks.sender import Reply

log = logging.getLogger("paywatch.webhooks")


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
