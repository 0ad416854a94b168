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

The schedule is a :class:`chains.retry.Retry` with a table of pauses (:data:`POLICY`),
the value every retrying loop of paywatch uses; its ``Retry-After`` only lengthens a
wait, never shortens it, and is read by the one parser in :mod:`chains.retry`.

That is each delivery's own schedule. While its endpoint is failing
(:mod:`daemon.webhooks.endpoint_health`) it is not sent on it: the endpoint gets one
probe at a time instead, and a probe sent before the delivery's own next attempt
does not count as one of its ten (its count and its next time stay as they were).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from chains.retry import Retry


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # not attempted yet (or redelivery requested)
    RETRYING = "retrying"  # failed at least once; another attempt is scheduled
    DELIVERED = "delivered"
    DEAD = "dead"  # every attempt failed (dead letter)
    GONE = "gone"  # the receiver answered 410
    NO_TARGET = "no_target"  # neither the order nor the config names a URL


WAITING = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)
FAILED = (DeliveryStatus.RETRYING, DeliveryStatus.DEAD, DeliveryStatus.GONE)

_MINUTE, _HOUR = 60.0, 3600.0
POLICY = Retry(
    table=(  # the pause after the 1st, 2nd ... 9th failed attempt
        5.0,
        5 * _MINUTE,
        30 * _MINUTE,
        2 * _HOUR,
        5 * _HOUR,
        10 * _HOUR,
        14 * _HOUR,
        20 * _HOUR,
        24 * _HOUR,
    ),
    maximum=math.inf,  # the table is the limit
    jitter=0.2,
    tries=10,
    retry_after="lengthens",
    retry_after_cap=24 * _HOUR,
)
SCHEDULE = (timedelta(0), *(timedelta(seconds=pause) for pause in POLICY.table))
MAX_ATTEMPTS = len(SCHEDULE)
JITTER = POLICY.jitter
MAX_RETRY_AFTER = timedelta(seconds=POLICY.retry_after_cap)


@dataclass(frozen=True, slots=True)
class Decision:
    status: DeliveryStatus
    next_attempt_at: datetime | None


def planned_wait(attempts_made: int, rng: random.Random) -> timedelta:
    """The wait before the next attempt after ``attempts_made`` attempts (1..9)."""
    return timedelta(seconds=POLICY.delay(attempts_made, rng))


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
    if POLICY.gives_up(attempts_made):
        return Decision(DeliveryStatus.DEAD, None)
    asked = None if retry_after is None else retry_after.total_seconds()
    wait = POLICY.wait(attempts_made, asked, rng)
    return Decision(DeliveryStatus.RETRYING, now + timedelta(seconds=wait))


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """``Retry-After`` as a wait: delta-seconds or an HTTP date (at most 24 h); None if
    absent or bad."""
    seconds = POLICY.retry_after_seconds(value, now)
    return None if seconds is None else timedelta(seconds=seconds)
