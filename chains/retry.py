"""When to try again: one retry policy value for every loop that retries, and the one
``Retry-After`` parser.

A :class:`Retry` (after urllib3's) says how long to pause after the n-th failure in a
row: exponential (``initial`` times ``factor`` per failure, at most ``maximum``) or an
explicit ``table`` of pauses (the last one repeats); optionally stretched or shrunk by
up to ``jitter`` (a fraction) at random, never beyond ``maximum``. It also says when to
give up (``tries`` in all, or ``deadline`` seconds after the first try), which HTTP
``statuses`` and which ``errors`` are worth another try, and what a ``Retry-After``
header does: replace the planned pause (``"replaces"``, urllib3's way), only lengthen
it (``"lengthens"``), or nothing (``"ignored"``); either way it is capped at
``retry_after_cap``.

The value is pure: randomness comes in as an argument (a seeded ``random.Random`` in
tests). :class:`Backoff` counts the failures in a row of one loop.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal

__all__ = ["RATE_LIMITED", "Backoff", "Retry", "parse_retry_after"]

RetryAfter = Literal["replaces", "lengthens", "ignored"]
_RNG = random.Random()


@dataclass(frozen=True, slots=True)
class Retry:
    initial: float = 1.0  # seconds: the pause after the first failure
    factor: float = 2.0  # each further failure multiplies it by this
    maximum: float = 60.0  # no pause is longer (jitter included)
    jitter: float = 0.0  # each pause is stretched or shrunk by up to this fraction
    table: tuple[float, ...] = ()  # explicit pauses instead (the last repeats)
    tries: int | None = None  # attempts in all, the first included (None: no limit)
    deadline: float | None = None  # seconds after the first attempt (None: no limit)
    statuses: frozenset[int] = frozenset()  # HTTP statuses worth another try
    errors: tuple[type[BaseException], ...] = ()  # exceptions worth another try
    retry_after: RetryAfter = "replaces"
    retry_after_cap: float = 60.0  # seconds: a longer Retry-After counts as this

    def __post_init__(self) -> None:
        if not (self.initial >= 0 and self.factor >= 1 and self.maximum >= 0):
            raise ValueError("a retry policy needs initial >= 0, factor >= 1, maximum >= 0")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter is a fraction in [0, 1)")
        if any(not pause >= 0 for pause in self.table):
            raise ValueError("a table of pauses holds non-negative seconds")
        if self.tries is not None and self.tries < 1:
            raise ValueError("tries counts the first attempt: at least 1")

    def planned(self, failures: int) -> float:
        """The pause after ``failures`` failures in a row (1: the first), without jitter."""
        n = max(failures, 1)
        if self.table:
            return min(self.table[min(n, len(self.table)) - 1], self.maximum)
        pause = self.initial
        if pause == 0 or self.factor == 1:
            return min(pause, self.maximum)
        for _ in range(n - 1):  # initial * factor ** (n - 1), stopping at the maximum
            pause *= self.factor
            if pause >= self.maximum:
                return self.maximum
        return min(pause, self.maximum)

    def delay(self, failures: int, rng: random.Random | None = None) -> float:
        """The pause after ``failures`` failures in a row, jitter included (one draw from
        ``rng`` when the policy has jitter)."""
        pause = self.planned(failures)
        if self.jitter:
            pause *= (rng or _RNG).uniform(1 - self.jitter, 1 + self.jitter)
        return min(pause, self.maximum)

    def wait(
        self, failures: int, retry_after: float | None = None, rng: random.Random | None = None
    ) -> float:
        """The pause after ``failures`` failures in a row, given the ``Retry-After`` the
        last answer carried (seconds, None if none)."""
        pause = self.delay(failures, rng)
        if retry_after is None or self.retry_after == "ignored":
            return pause
        asked = min(max(retry_after, 0.0), self.retry_after_cap)
        return asked if self.retry_after == "replaces" else max(pause, asked)

    def wait_for_answer(self, failures: int, retry_after_header: str | None) -> float:
        """:meth:`wait` for an HTTP answer carrying ``retry_after_header`` (or None)."""
        return self.wait(failures, self.retry_after_seconds(retry_after_header))

    def retry_after_seconds(self, header: str | None, now: datetime | None = None) -> float | None:
        """A ``Retry-After`` header as this policy reads it (capped; None if absent, bad
        or ignored by the policy)."""
        if self.retry_after == "ignored":
            return None
        return parse_retry_after(header, cap=self.retry_after_cap, now=now)

    def gives_up(self, attempts: int, elapsed: float = 0.0) -> bool:
        """Whether ``attempts`` made, the first ``elapsed`` seconds ago, are all there is."""
        if self.tries is not None and attempts >= self.tries:
            return True
        return self.deadline is not None and elapsed >= self.deadline

    def retries_status(self, status: int) -> bool:
        return status in self.statuses

    def retries_error(self, error: BaseException) -> bool:
        return isinstance(error, self.errors)


# An HTTP API answering 429 (node JSON-RPC, Tatum): four more tries after 0.25, 0.5, 1
# and 2 s, or after what its Retry-After asks (at most 10 s).
RATE_LIMITED = Retry(
    initial=0.25,
    factor=2.0,
    maximum=10.0,
    tries=5,
    statuses=frozenset({429}),
    retry_after="replaces",
    retry_after_cap=10.0,
)


class Backoff:
    """One loop's failures in a row under a :class:`Retry`: ``failed()`` counts one and
    gives the pause before the next try, ``succeeded()`` starts over."""

    def __init__(self, policy: Retry, rng: random.Random | None = None) -> None:
        self.policy = policy
        self.failures = 0
        self._rng = rng

    def failed(self) -> float:
        self.failures += 1
        return self.policy.delay(self.failures, self._rng)

    def succeeded(self) -> None:
        self.failures = 0


def parse_retry_after(
    value: str | None, *, cap: float, now: datetime | None = None
) -> float | None:
    """``Retry-After`` in seconds: delta-seconds (digits only) or an HTTP date (a date
    in the past: 0), at most ``cap``; None if absent or not one of those."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return min(float(text), cap)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), cap)
