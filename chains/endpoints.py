"""Several endpoints for one chain: failover, and avoiding stale or lagging heads.

A chain may be served by several nodes (the merchant's own, a second one, a
paid provider). :class:`EndpointPool` keeps what each endpoint last showed and
ranks them; it knows nothing of any chain's formats (EVM and Bitcoin reuse it).

An endpoint is *unhealthy*, and tried only after every healthy one, when

* its last request failed (connect error, timeout, a non-JSON answer), until a
  later probe succeeds;
* it is **stale**: its head block's timestamp is older than ``stale_blocks``
  block times by the wall clock *and* its head has not changed for as long (a
  node that says it is synced but stopped following the chain: both tests, so
  neither a clock skew nor a quiet test chain alone condemns it when it is the
  only endpoint answering);
* it **lags**: another endpoint showed a head more than ``max_lag_blocks``
  higher no later than one block time after this endpoint's own last probe
  (a head seen much later may simply be newer, so it is not held against it).

The preferred endpoint is the first healthy one in configured order (the
merchant's own node first); it is asked every time, the others only every
``probe_interval`` seconds, so calls do not grow with the number of endpoints.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from chains.watching import BlockHeader, BlockNotFound, ChainUnavailable, EndpointHealth

C = TypeVar("C")
R = TypeVar("R")


@dataclass(slots=True)
class _State:
    url: str
    head: BlockHeader | None = None
    probed_at: float | None = None  # monotonic time of the last successful head probe
    changed_at: float | None = None  # monotonic time the head last changed
    error: str | None = None
    failed_at: float | None = None


class EndpointPool(Generic[C]):
    """Ranks ``clients`` (one per endpoint, ``urls`` without credentials) by health."""

    def __init__(
        self,
        clients: Sequence[C],
        urls: Sequence[str],
        *,
        block_time: float,
        stale_blocks: int = 5,
        max_lag_blocks: int = 3,
        probe_interval: float = 30.0,
        wall_clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not clients or len(clients) != len(urls):
            raise ValueError("an endpoint pool needs one url per client, at least one")
        self.clients = list(clients)
        self._states = [_State(url) for url in urls]
        self.block_time = block_time
        self.stale_after = stale_blocks * block_time
        self.max_lag_blocks = max_lag_blocks
        self.probe_interval = probe_interval
        self._wall = wall_clock
        self._mono = monotonic

    # --- what was observed -------------------------------------------------------

    def observe_head(self, i: int, head: BlockHeader) -> None:
        s, now = self._states[i], self._mono()
        if s.head is None or s.head.hash != head.hash:
            s.changed_at = now
        s.head, s.probed_at, s.error, s.failed_at = head, now, None, None

    def observe_error(self, i: int, error: Exception) -> None:
        s = self._states[i]
        s.error, s.failed_at = str(error) or type(error).__name__, self._mono()

    # --- judgement ---------------------------------------------------------------

    def _problem(self, i: int) -> str | None:
        s = self._states[i]
        if s.error is not None:
            return s.error
        if s.head is None or s.probed_at is None or s.changed_at is None:
            return None  # not probed yet: innocent until asked
        age = self._wall() - s.head.timestamp
        unchanged = self._mono() - s.changed_at
        if age > self.stale_after and unchanged > self.stale_after:
            return (
                f"stale: head {s.head.height} is {age:.0f} s old"
                f" and unchanged for {unchanged:.0f} s"
            )
        best = max(
            (
                o.head.height
                for o in self._states
                if o.head is not None
                and o.probed_at is not None
                and o.probed_at <= s.probed_at + self.block_time
            ),
            default=s.head.height,
        )
        if best - s.head.height > self.max_lag_blocks:
            return f"lagging: head {s.head.height}, another endpoint had {best}"
        return None

    def ranked(self) -> list[int]:
        """Endpoint indexes, healthy first, each group in configured order."""
        problems = [self._problem(i) for i in range(len(self._states))]
        healthy = [i for i, p in enumerate(problems) if p is None]
        return healthy + [i for i, p in enumerate(problems) if p is not None]

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
                )
            )
        return out

    # --- using it ----------------------------------------------------------------

    async def run(self, op: Callable[[C], Awaitable[R]]) -> R:
        """``op`` on the best endpoint, failing over to the next on ``ChainUnavailable``.

        ``BlockNotFound`` is an answer (the chain moved), not an endpoint failure.
        """
        errors: list[str] = []
        for i in self.ranked():
            try:
                return await op(self.clients[i])
            except BlockNotFound:
                raise
            except ChainUnavailable as exc:
                self.observe_error(i, exc)
                errors.append(str(exc))
        raise ChainUnavailable("; ".join(errors) or "no endpoint")

    async def refresh(self, get_head: Callable[[C], Awaitable[BlockHeader]]) -> BlockHeader:
        """Probe the preferred endpoint (and the others that are due); the best healthy head.

        Raises ``ChainUnavailable`` when no endpoint answers.
        """
        now = self._mono()
        order = self.ranked()
        due = {order[0]} | {
            i
            for i, s in enumerate(self._states)
            if (s.failed_at or s.probed_at or -1e18) + self.probe_interval <= now
            or (s.probed_at is None and s.failed_at is None)
        }

        async def probe(i: int) -> None:
            try:
                self.observe_head(i, await get_head(self.clients[i]))
            except ChainUnavailable as exc:
                self.observe_error(i, exc)

        await asyncio.gather(*(probe(i) for i in sorted(due)))
        for i in self.ranked():
            s = self._states[i]
            if s.error is None and s.head is not None:
                if i not in due and self._problem(i) is None:
                    # Not probed now: ask it before trusting an old head.
                    await probe(i)
                    if self._states[i].error is not None or self._problem(i) is not None:
                        continue
                head = self._states[i].head
                assert head is not None
                return head
        errors = [s.error for s in self._states if s.error]
        raise ChainUnavailable("; ".join(errors) or "no endpoint answered")
