"""An endpoint's health, from the attempts made to it. Pure: the state and the
attempts come in, the new state goes out (the database side is
:mod:`daemon.webhooks.endpoints`).

An endpoint (``scheme://host:port``) is *failing* from the first failed attempt
that says the store is down, not just unhappy with one event:

- no answer at all (refused, reset, timeout, DNS) or 408, 429, 502, 503, 504; or
- any other failure (3xx, 4xx but 410, 5xx) of a second delivery with no 2xx
  between: one event its handler chokes on does not stop the others.

A failure never counts against an endpoint that answered 2xx to an attempt started
later. While failing, its deliveries wait and one probe at a time goes: the next
no sooner than ``probe_interval`` after the last one started (longer when the
store answered ``Retry-After``, up to 24 h). The first 2xx to an attempt started
since it began failing makes it healthy again. 410 leaves the health as it was
(the store answered; that one delivery is gone).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from daemon.webhooks.retry_policy import MAX_RETRY_AFTER

OUTAGE_STATUSES = frozenset({408, 429, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class EndpointState:
    failing_since: datetime | None = None
    next_probe_at: datetime | None = None
    failures: int = 0  # failed attempts since the last 2xx
    last_failed_seq: int | None = None  # the event whose attempt failed last
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None

    @property
    def failing(self) -> bool:
        return self.failing_since is not None


@dataclass(frozen=True, slots=True)
class Attempted:
    """What the endpoint's health needs to know of one finished attempt."""

    seq: int  # the event's
    attempted_at: datetime
    status_code: int | None  # None: no HTTP answer
    error: str | None
    retry_after: timedelta | None = None


def succeeded(status_code: int | None) -> bool:
    return status_code is not None and 200 <= status_code < 300


def says_down(status_code: int | None) -> bool:
    """An answer (or none) that means the store as a whole is not taking requests."""
    return status_code is None or status_code in OUTAGE_STATUSES


def _later(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b > a else a


def after(
    state: EndpointState, attempt: Attempted, now: datetime, probe_interval: timedelta
) -> tuple[EndpointState, bool]:
    """The state once ``attempt`` is known (recorded at ``now``), and whether this
    attempt ended a failure (the endpoint's backlog is then due at once)."""
    code = attempt.status_code
    if succeeded(code):
        healed = state.failing_since is not None and attempt.attempted_at >= state.failing_since
        new = replace(
            state,
            failures=0,
            last_failed_seq=None,
            last_success_at=_later(state.last_success_at, attempt.attempted_at),
        )
        if healed:
            new = replace(new, failing_since=None, next_probe_at=None)
        return new, healed
    new = replace(
        state,
        last_failure_at=_later(state.last_failure_at, attempt.attempted_at),
        last_status_code=code,
        last_error=attempt.error,
    )
    if code == 410:
        return new, False
    wait = min(attempt.retry_after, MAX_RETRY_AFTER) if attempt.retry_after else None
    new = replace(new, failures=state.failures + 1, last_failed_seq=attempt.seq)
    if state.failing_since is not None:
        if wait is not None:  # the store asked for a pause: the next probe waits too
            new = replace(new, next_probe_at=_later(state.next_probe_at, now + wait))
        return new, False
    if state.last_success_at is not None and state.last_success_at > attempt.attempted_at:
        return new, False  # it answered 2xx to an attempt started later
    another = state.last_failed_seq is not None and state.last_failed_seq != attempt.seq
    if says_down(code) or (state.failures >= 1 and another):
        spacing = max(probe_interval, wait) if wait is not None else probe_interval
        new = replace(new, failing_since=attempt.attempted_at, next_probe_at=now + spacing)
    return new, False
