"""Tatum notifications, taken as hints: verified, deduplicated, checked on chain.

:meth:`Hints.check` refuses anything whose ``x-payload-hash`` is missing or wrong before
reading it. A signed notification credits nothing by itself: the order it names is found
by address, the transaction is looked up through the chain's own source (Tatum's gateway),
and only a transaction the node has wakes that chain's watcher, which then finds and
credits the payment the way it finds every payment: from the block (or the mempool).
On PostgreSQL the wake-up also goes to every instance (``paywatch_nudge``, see
:mod:`daemon.cluster.notify`): the watcher that runs may be another instance's.
A repeat is answered without any work while it is remembered, and is harmless after.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, and_, or_, select

from chains.tatum.notification import (
    Notification,
    NotificationError,
    parse_notification,
    verify,
)
from chains.waiting import wait_for_any
from chains.watching import ChainUnavailable, TransactionLookup
from daemon.cluster.notify import announce_nudge
from daemon.services.errors import Kind, ServiceError, Unauthorized
from daemon.storage.database import Database
from daemon.storage.order_targets import order_targets

log = logging.getLogger("paywatch.tatum")

REMEMBERED = 10_000  # notification bodies answered as repeats
QUEUE = 1_000  # hints waiting for their on-chain check
RETRY_DELAYS = (1.0, 3.0)  # a transaction the gateway does not have yet is asked again


class BadNotification(ServiceError):
    kind = Kind.MALFORMED


@dataclass(frozen=True)
class HintChain:
    """What the desk needs of one chain watched through Tatum."""

    name: str
    script_of: Callable[[str], bytes]  # address -> script; ValueError for another format
    lookup: TransactionLookup  # the chain's own source
    nudge: Callable[[], None]
    # Bitcoin family: an unconfirmed payment counts; the source fetches what it is told.
    remember_unconfirmed: Callable[[str], None] | None


@dataclass(frozen=True, slots=True)
class _Hint:
    chain: str
    note: Notification
    attempt: int = 0


class Hints:
    def __init__(self, db: Database, chains: Mapping[str, HintChain], secrets: Sequence[str]):
        self.db = db
        self.chains = dict(chains)
        self.secrets = list(secrets)
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._queue: asyncio.Queue[_Hint] | None = None
        # Every notification's fate (the daemon's metrics read these): refused before it
        # is read (rejected: no or a wrong signature; invalid: signed but not readable),
        # taken (accepted, duplicate, ignored), and what the chain said (on_chain, absent).
        self.stats = dict.fromkeys(
            ("rejected", "invalid", "accepted", "duplicate", "ignored", "on_chain", "absent"), 0
        )

    @property
    def queue(self) -> asyncio.Queue[_Hint]:
        if self._queue is None:
            self._queue = asyncio.Queue(QUEUE)
        return self._queue

    def check(self, body: bytes, signature: str | None) -> Notification:
        """The notification, or a 401/400 naming what is wrong (nothing else happens)."""
        if not signature:
            self._count("rejected")
            raise Unauthorized("signature_missing", "the x-payload-hash header is missing")
        if not verify(self.secrets, body, signature):
            self._count("rejected")
            raise Unauthorized(
                "signature_invalid", "x-payload-hash does not match the body (tatum.hmac_secret)"
            )
        try:
            return parse_notification(body)
        except NotificationError as exc:
            self._count("invalid")
            raise BadNotification("invalid_notification", str(exc)) from None

    async def take(self, body: bytes, note: Notification) -> str:
        """Queue a checked notification: ``accepted``, ``duplicate`` or ``ignored``."""
        digest = hashlib.sha256(body).digest()
        if digest in self._seen:
            self._seen.move_to_end(digest)
            return self._count("duplicate")
        chains = await self.db.run_read(lambda conn: self._chains_of(conn, note))
        self._seen[digest] = None  # only once taken: a failed lookup may be retried
        while len(self._seen) > REMEMBERED:
            self._seen.popitem(last=False)
        if not chains:
            log.info("tatum: notification for %s names no order's address", note.tx_id)
            return self._count("ignored")
        for chain in chains:
            try:
                self.queue.put_nowait(_Hint(chain, note))
            except asyncio.QueueFull:  # a flood: look at the chain instead of at each hint
                self.chains[chain].nudge()
        return self._count("accepted")

    def _count(self, outcome: str) -> str:
        self.stats[outcome] += 1
        return outcome

    def _chains_of(self, conn: Connection, note: Notification) -> list[str]:
        pairs = []
        t = order_targets(self.chains)
        for name, chain in self.chains.items():
            for address in note.addresses:
                with contextlib.suppress(ValueError):
                    pairs.append(and_(t.c.chain == name, t.c.script == chain.script_of(address)))
        if not pairs:
            return []
        query = select(t.c.chain).where(or_(*pairs)).distinct()
        return sorted(str(chain) for chain in conn.scalars(query))

    async def run(self, stop: asyncio.Event) -> None:
        """Check queued hints on chain until ``stop``."""
        while not stop.is_set():
            getter = asyncio.ensure_future(self.queue.get())
            await wait_for_any(stop, getter)
            if not getter.done():
                getter.cancel()
                break
            try:
                await self._verify(getter.result())
            except Exception:  # a hint is only a hint: the desk goes on
                log.exception("tatum: checking a notification failed")

    async def _verify(self, hint: _Hint) -> None:
        chain = self.chains[hint.chain]
        note = hint.note
        try:
            where = await chain.lookup.locate(note.tx_id, note.block_number)
        except ChainUnavailable as exc:
            log.warning("tatum: cannot check %s on %s: %s", note.tx_id, hint.chain, exc)
            where = None
        if where is None:
            if hint.attempt < len(RETRY_DELAYS):
                retry = _Hint(hint.chain, note, hint.attempt + 1)
                loop = asyncio.get_running_loop()
                loop.call_later(RETRY_DELAYS[hint.attempt], self._requeue, retry)
            else:
                self._count("absent")
                log.warning("tatum: %s (notified on %s) is not on chain", note.tx_id, hint.chain)
            return
        self._count("on_chain")
        if where.confirmed:
            chain.nudge()
            await announce_nudge(self.db, hint.chain)
        elif chain.remember_unconfirmed is not None:
            chain.remember_unconfirmed(note.tx_id)
            chain.nudge()
            await announce_nudge(self.db, hint.chain, note.tx_id)

    def heard(self, chain: str, tx_id: str | None) -> bool:
        """Another instance (or this one) verified a notification for ``chain``: look
        at it now, and fetch ``tx_id`` from the mempool if the chain fetches only what
        it is told. The local watcher was nudged directly already; this reaches the one
        that runs, wherever it runs (a watcher that is not running ignores a nudge).
        False when ``chain`` is not one of the desk's."""
        found = self.chains.get(chain)
        if found is None:
            return False
        if tx_id is not None and found.remember_unconfirmed is not None:
            found.remember_unconfirmed(tx_id)
        found.nudge()
        return True

    def _requeue(self, hint: _Hint) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(hint)
