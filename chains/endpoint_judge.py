"""How endpoints of one chain are judged: by the heads they answered, fresh.

:class:`EndpointJudge` keeps what each endpoint last showed and ranks them; the
asking is :class:`chains.endpoints.EndpointPool`'s. An endpoint is *unhealthy*,
and tried only after every healthy one, when

* its last request failed (connect error, HTTP error, timeout, an answer that is not
  JSON-RPC), until its next probe succeeds (every round: a recovered endpoint is
  used again at once);
* it is **slow**: its head probe has not answered ``settle`` seconds after another
  endpoint's did (it keeps running in the background, bounded by ``probe_timeout``);
* it **lags**: its head is below a height another endpoint showed at least
  ``lag_grace`` seconds before this one was asked (a frozen head is caught this way
  within a round or two), or more than ``max_lag_blocks`` below one shown before it
  was asked;
* it is **stale**: its head block's timestamp is older than ``stale_blocks`` block
  times by the wall clock *and* its head has not changed for as long (a node that
  stopped following the chain, when there is no other to compare with).

The block time is the configured one (or a table's), else measured: the median of
the intervals between the heads seen.
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from chains.watching import BlockHeader, EndpointHealth

_MIN_SAMPLES = 5  # block intervals measured before the measured block time is used


@dataclass(slots=True)
class _State:
    url: str
    head: BlockHeader | None = None
    asked_at: float | None = None  # monotonic: when the probe that gave ``head`` was sent
    answered_at: float | None = None  # monotonic: when the last probe answered (or failed)
    changed_at: float | None = None  # monotonic: when the head last changed
    error: str | None = None
    slow: bool = False  # a probe outlived the round's settle time; cleared by an answer
    probing_since: float | None = None  # monotonic: a probe is in flight since
    history: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=16))


class EndpointJudge:
    """What each endpoint (``urls``, without credentials) last showed, and its ranking."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        block_time: float | None = None,
        default_block_time: float = 12.0,
        poll_interval: float = 5.0,
        stale_blocks: int = 5,
        max_lag_blocks: int = 3,
        wall_clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._states = [_State(url) for url in urls]
        self._block_time = block_time
        self._default_block_time = default_block_time
        self._intervals: deque[float] = deque(maxlen=31)
        # Heads may differ this long between endpoints (propagation) before one lags; an
        # endpoint this much slower than another to answer counts as slow.
        self.lag_grace = min(max(poll_interval / 2, 0.25), 1.0)
        self.settle = self.lag_grace
        self.stale_blocks = stale_blocks
        self.max_lag_blocks = max_lag_blocks
        self._wall = wall_clock
        self._mono = monotonic
        self.preferred: int | None = None

    @property
    def block_time(self) -> float:
        """Configured, else measured (median of recent intervals), else the default."""
        if self._block_time is not None:
            return self._block_time
        if len(self._intervals) >= _MIN_SAMPLES:
            return max(statistics.median(self._intervals), 1.0)
        return self._default_block_time

    # --- what was observed -------------------------------------------------------

    def observe_head(self, i: int, head: BlockHeader, asked_at: float | None = None) -> None:
        s, now = self._states[i], self._mono()
        old = s.head
        if old is None or old.hash != head.hash:
            s.changed_at = now
        if old is not None and head.height > old.height and head.timestamp >= old.timestamp:
            self._intervals.append((head.timestamp - old.timestamp) / (head.height - old.height))
        if not s.history or s.history[-1][1] != head.height:
            s.history.append((now, head.height))
        s.head, s.asked_at, s.answered_at = head, now if asked_at is None else asked_at, now
        s.error, s.slow = None, False

    def observe_error(self, i: int, error: Exception) -> None:
        s = self._states[i]
        s.error, s.slow, s.answered_at = str(error) or type(error).__name__, False, self._mono()

    # --- judgement ---------------------------------------------------------------

    def _problem(self, i: int) -> str | None:
        s = self._states[i]
        if s.error is not None:
            return s.error
        if s.slow:
            return f"slow: no head within {self.settle:g} s of another endpoint's"
        if s.head is None or s.asked_at is None or s.changed_at is None:
            return None  # not probed yet: innocent until asked
        lag = self._lag(i, s.head, s.asked_at)
        if lag is not None:
            return lag
        stale_after = self.stale_blocks * self.block_time
        age = self._wall() - s.head.timestamp
        unchanged = self._mono() - s.changed_at
        if age > stale_after and unchanged > stale_after:
            return (
                f"stale: head {s.head.height} is {age:.0f} s old"
                f" and unchanged for {unchanged:.0f} s"
            )
        return None

    def _lag(self, i: int, head: BlockHeader, asked_at: float) -> str | None:
        for j, o in enumerate(self._states):
            if j == i or o.error is not None or o.slow or o.head is None:
                continue
            for seen, height in o.history:
                if height > o.head.height:
                    continue  # no longer shown there (a reorg to a shorter chain)
                old = seen <= asked_at - self.lag_grace and height > head.height
                far = seen <= asked_at and height - head.height > self.max_lag_blocks
                if old or far:
                    return f"lagging: head {head.height}, {o.url} had {height} before"
        return None

    def ranked(self) -> list[int]:
        """Endpoint indexes: the preferred one, then the healthy, then the rest (each
        group in configured order)."""
        problems = [self._problem(i) for i in range(len(self._states))]
        healthy = [i for i, p in enumerate(problems) if p is None]
        order = healthy + [i for i, p in enumerate(problems) if p is not None]
        if self.preferred is not None and problems[self.preferred] is None:
            order.remove(self.preferred)
            order.insert(0, self.preferred)
        return order

    def health(self) -> list[EndpointHealth]:
        now = self._wall()
        out = []
        for i, s in enumerate(self._states):
            problem = self._problem(i)
            out.append(
                EndpointHealth(
                    url=s.url,
                    healthy=problem is None,
                    head_height=s.head.height if s.head else None,
                    head_age_seconds=now - s.head.timestamp if s.head else None,
                    error=problem,
                    extra={"preferred": "true"} if i == self.preferred else {},
                )
            )
        return out

    def recheck_in(self) -> float | None:
        """Seconds until the preferred endpoint may be judged lagging (another showed a
        higher head less than ``lag_grace`` ago): look again then, not a poll later."""
        if self.preferred is None:
            return None
        s = self._states[self.preferred]
        if s.head is None or self._problem(self.preferred) is not None:
            return None
        due = [
            seen + self.lag_grace
            for j, o in enumerate(self._states)
            if j != self.preferred and o.error is None and not o.slow
            for seen, height in o.history
            if height > s.head.height
        ]
        return None if not due else max(min(due) - self._mono(), 0.05)
