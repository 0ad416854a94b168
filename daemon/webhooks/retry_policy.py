"""Delivery statuses and what one attempt's outcome leads to. Pure: time and
randomness come in as arguments.

The schedule is the Standard Webhooks example: an attempt at once, then after
5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h (about 3 days and
3 hours in all), each wait stretched or shrunk by up to 20 % at random so that
retries after an outage do not arrive in one burst. After the tenth failed
attempt the delivery is dead-lettered.

- 2xx: delivered.
- 410 Gone: the receiver says the endpoint is gone; no more attempts (``gone``).
- Every other answer (3xx, 4xx, 5xx), a timeout, a refused or failed
  connection: retried on the schedule. 5xx, 408, 429 and network failures are
  what Standard Webhooks asks to retry; other 4xx and 3xx are retried too (as
  Stripe and Svix do) because they are usually a store-side mistake (a route or
  secret not yet deployed) fixed within the three days, and a missed payment
  notice costs more than a few requests. Redirects are never followed.
- ``Retry-After`` (seconds or an HTTP date) on any failed answer: the next
  attempt waits at least that long (at most 24 h).

That is each delivery's own schedule. While its endpoint is failing
(:mod:`daemon.webhooks.endpoint_health`) it is not sent on it: the endpoint gets one
probe at a time instead, and a probe sent before the delivery's own next attempt
does not count as one of its ten (its count and its next time stay as they were).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # not attempted yet (or redelivery requested)
    RETRYING = "retrying"  # failed at least once; another attempt is scheduled
    DELIVERED = "delivered"
    DEAD = "dead"  # every attempt failed (dead letter)
    GONE = "gone"  # the receiver answered 410
    NO_TARGET = "no_target"  # neither the order nor the config names a URL


WAITING = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)
FAILED = (DeliveryStatus.RETRYING, DeliveryStatus.DEAD, DeliveryStatus.GONE)

SCHEDULE = (
    timedelta(0),
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
)
MAX_ATTEMPTS = len(SCHEDULE)
JITTER = 0.2
MAX_RETRY_AFTER = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Decision:
    status: DeliveryStatus
    next_attempt_at: datetime | None


def planned_wait(attempts_made: int, rng: random.Random) -> timedelta:
    """The wait before the next attempt after ``attempts_made`` attempts (1..9)."""
    base = SCHEDULE[attempts_made]
    return base * rng.uniform(1 - JITTER, 1 + JITTER)


def decide(
    status_code: int | None,
    attempts_made: int,
    now: datetime,
    rng: random.Random,
    retry_after: timedelta | None = None,
) -> Decision:
    """The delivery's state after its ``attempts_made``-th attempt got ``status_code``
    (None: no answer at all)."""
    if status_code is not None and 200 <= status_code < 300:
        return Decision(DeliveryStatus.DELIVERED, None)
    if status_code == 410:
        return Decision(DeliveryStatus.GONE, None)
    if attempts_made >= MAX_ATTEMPTS:
        return Decision(DeliveryStatus.DEAD, None)
    wait = planned_wait(attempts_made, rng)
    if retry_after is not None:
        wait = max(wait, min(retry_after, MAX_RETRY_AFTER))
    return Decision(DeliveryStatus.RETRYING, now + wait)


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """``Retry-After`` as a wait: delta-seconds or an HTTP date; None if absent or bad."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return timedelta(seconds=min(int(text), int(MAX_RETRY_AFTER.total_seconds())))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(timedelta(0), when - now)
