"""Several endpoints for one chain: failover, judged by fresh heads.

A chain may be served by several nodes (the merchant's own, a second one, a
paid provider). :class:`EndpointPool` asks each for its head every round
(:meth:`EndpointPool.refresh`: one small call per endpoint, all at once; blocks
and payments are fetched from the preferred endpoint only), judges them by what
they answered *in that round* (the rules: :mod:`chains.endpoint_judge`), and uses
the first healthy one in configured order (the merchant's own node first). It
knows nothing of any chain's formats (EVM and Bitcoin reuse it). Each change of
the preferred endpoint is logged once, with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from chains.endpoint_judge import EndpointJudge
from chains.watching import BlockHeader, BlockNotFound, ChainUnavailable

C = TypeVar("C")
R = TypeVar("R")

log = logging.getLogger(__name__)


class EndpointPool(EndpointJudge, Generic[C]):
    """Ranks ``clients`` (one per endpoint, ``urls`` without credentials) by health,
    and runs each request on the best of them."""

    def __init__(
        self,
        clients: Sequence[C],
        urls: Sequence[str],
        *,
        block_time: float | None = None,
        default_block_time: float = 12.0,
        poll_interval: float = 5.0,
        probe_timeout: float | None = None,
        stale_blocks: int = 5,
        max_lag_blocks: int = 3,
        name: str = "",
        wall_clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not clients or len(clients) != len(urls):
            raise ValueError("an endpoint pool needs one url per client, at least one")
        super().__init__(
            urls,
            block_time=block_time,
            default_block_time=default_block_time,
            poll_interval=poll_interval,
            stale_blocks=stale_blocks,
            max_lag_blocks=max_lag_blocks,
            wall_clock=wall_clock,
            monotonic=monotonic,
        )
        self.clients = list(clients)
        self.name = name
        self.probe_timeout = probe_timeout or min(max(2 * poll_interval, 1.0), 10.0)
        self._probes: dict[int, asyncio.Task[None]] = {}

    def _prefer(self, i: int) -> None:
        """Make ``i`` the preferred endpoint; a change is logged once, with its reason."""
        old, self.preferred = self.preferred, i
        if old == i:
            return
        url = self._states[i].url
        if old is None:
            why = [
                f"{s.url}: {p}" for j, s in enumerate(self._states[:i]) if (p := self._problem(j))
            ]
            if why:
                log.warning("%s: using %s (%s)", self.name or "chain", url, "; ".join(why))
            return
        problem = self._problem(old)
        if problem is None:
            log.info("%s: using %s again (it answers well)", self.name or "chain", url)
        else:
            log.warning(
                "%s: using %s instead of %s (%s)",
                self.name or "chain",
                url,
                self._states[old].url,
                problem,
            )

    # --- using it ----------------------------------------------------------------

    async def run(self, op: Callable[[C], Awaitable[R]]) -> R:
        """``op`` on the best endpoint, failing over to the next on ``ChainUnavailable``.

        ``BlockNotFound`` is an answer (the chain moved), not an endpoint failure.
        """
        errors: list[str] = []
        for i in self.ranked():
            try:
                result = await op(self.clients[i])
            except BlockNotFound:
                raise
            except ChainUnavailable as exc:
                self.observe_error(i, exc)
                errors.append(str(exc))
            else:
                self._prefer(i)
                return result
        raise ChainUnavailable("; ".join(errors) or "no endpoint")

    async def refresh(self, get_head: Callable[[C], Awaitable[BlockHeader]]) -> BlockHeader:
        """Ask every endpoint for its head; the head of the first healthy one that
        answered now. Waits for answers at most ``settle`` seconds after the first (and
        not at all once the first endpoint in configured order answered well); slower
        probes go on in the background. Raises ``ChainUnavailable`` when none answers."""
        start = self._mono()
        for i in range(len(self._states)):
            if i not in self._probes:
                self._states[i].probing_since = start
                self._probes[i] = asyncio.ensure_future(self._probe(i, get_head, start))
        loop = asyncio.get_running_loop()
        first_answer: float | None = None
        while self._probes:
            fresh = self._fresh(start)
            good = [i for i in fresh if self._problem(i) is None]
            if good and all(j not in self._probes for j in range(good[0])):
                break
            timeout = None
            if fresh:
                first_answer = loop.time() if first_answer is None else first_answer
                timeout = first_answer + self.settle - loop.time()
                if timeout <= 0:
                    break
            pending = set(self._probes.values())
            await asyncio.wait(pending, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        now = self._mono()
        for i in self._probes:
            since = self._states[i].probing_since
            if since is not None and now - since >= self.settle:
                self._states[i].slow = True
        fresh = self._fresh(start)
        chosen = [i for i in fresh if self._problem(i) is None] or fresh
        if not chosen:
            errors = [
                f"{s.url}: {p}" for j, s in enumerate(self._states) if (p := self._problem(j))
            ]
            raise ChainUnavailable("; ".join(errors) or "no endpoint answered")
        self._prefer(chosen[0])
        head = self._states[chosen[0]].head
        assert head is not None
        return head

    def _fresh(self, since: float) -> list[int]:
        """Endpoints whose head came in at or after ``since`` (configured order)."""
        return [
            i
            for i, s in enumerate(self._states)
            if s.error is None and s.head is not None and (s.answered_at or -1.0) >= since
        ]

    async def _probe(
        self, i: int, get_head: Callable[[C], Awaitable[BlockHeader]], asked_at: float
    ) -> None:
        url = self._states[i].url
        try:
            head = await asyncio.wait_for(get_head(self.clients[i]), self.probe_timeout)
        except TimeoutError:
            self.observe_error(
                i, ChainUnavailable(f"{url}: no head within {self.probe_timeout:g} s")
            )
        except ChainUnavailable as exc:
            self.observe_error(i, exc)
        except Exception as exc:  # a malformed answer: this endpoint's fault, not the watcher's
            log.debug("%s: head probe failed", url, exc_info=True)
            self.observe_error(i, ChainUnavailable(f"{url}: {type(exc).__name__}: {exc}"))
        else:
            self.observe_head(i, head, asked_at)
        finally:
            self._probes.pop(i, None)
            self._states[i].probing_since = None

    async def aclose(self) -> None:
        """Cancel head probes still in flight."""
        probes = list(self._probes.values())
        for task in probes:
            task.cancel()
        for task in probes:
            with contextlib.suppress(asyncio.CancelledError):
                await task
