"""Wake-ups across instances on one PostgreSQL, through LISTEN/NOTIFY.

Two channels:

- ``paywatch_events``: every transaction that inserts events (the webhook outbox)
  sends it once; PostgreSQL delivers it at commit, and never for a rollback. Every
  instance's webhook dispatcher then looks for due deliveries at once, wherever the
  event was written (any of them may claim it: the outbox is shared).
- ``paywatch_nudge``, payload ``<chain>`` or ``<chain> <txid>``: a Tatum notification
  that an instance verified on chain. The instance whose watcher of that chain runs
  looks at the chain now (and fetches that mempool transaction, for Bitcoin chains
  that only fetch what they are told); a watcher that is not running ignores it.

Each ``paywatch run`` keeps one listening connection (psycopg, autocommit). When it
is lost, it is opened again with backoff (0.5 s doubling to 30 s), and on every
(re)connect each dispatcher and watcher is woken once, since what was sent while it
was away is lost. Until then the poll intervals still find everything: a wake-up is
only ever early news, never the only way to news.

On SQLite nothing here runs (one instance; commit listeners wake the dispatcher).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Protocol

import psycopg
from sqlalchemy import Connection, func, select
from sqlalchemy.engine import make_url

from chains.retry import Backoff, Retry
from chains.waiting import wait_for_any
from daemon.storage.database import Database

if TYPE_CHECKING:
    from daemon.tatum.hints import Hints

log = logging.getLogger("paywatch.cluster")

EVENTS = "paywatch_events"
NUDGE = "paywatch_nudge"
PING_SECONDS = 30.0  # a quiet listening connection is checked this often
RECONNECT = Retry(initial=0.5, factor=2.0, maximum=30.0)  # 0.5 s doubling to 30 s
_ANNOUNCED = "paywatch_events_announced"
_NOTIFY_EVENTS = f"NOTIFY {EVENTS}"
APP_NAME = "paywatch listener"  # as pg_stat_activity shows the listening connection

# (chain, txid): chain None means every chain (after a reconnect).
NudgeListener = Callable[[str | None, str | None], None]


class Nudgeable(Protocol):
    def nudge(self) -> None: ...


def announce_events(conn: Connection) -> None:
    """Send ``paywatch_events`` at this transaction's commit (PostgreSQL; once per
    transaction, however many events it inserts)."""
    if conn.dialect.name != "postgresql":
        return
    transaction = conn.get_transaction()
    announced = conn.info.get(_ANNOUNCED)
    if transaction is None or (announced is not None and announced() is transaction):
        return
    # On the driver's own connection, inside this transaction (no SQLAlchemy machinery:
    # order creation sends it for its order.created event).
    conn.connection.driver_connection.execute(_NOTIFY_EVENTS)  # type: ignore[union-attr]
    conn.info[_ANNOUNCED] = weakref.ref(transaction)


async def announce_nudge(db: Database, chain: str, tx_id: str | None = None) -> None:
    """Tell every instance that ``chain`` has news (PostgreSQL; a no-op on SQLite)."""
    if db.dialect != "postgresql":
        return
    payload = chain if tx_id is None else f"{chain} {tx_id}"
    # A transaction that writes no row: no commit listeners to wake, so a read's.
    await db.run_read(lambda conn: conn.execute(select(func.pg_notify(NUDGE, payload))))


def conninfo(url: str) -> str:
    """The libpq URL of a SQLAlchemy ``postgresql+psycopg://`` URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Listener:
    """One instance's listening connection: calls its listeners on each notification
    (on the event loop; they must be quick, e.g. set an event)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._events: list[Callable[[], None]] = []
        self._nudges: list[NudgeListener] = []
        self.connected = asyncio.Event()
        self.connections = 0  # (re)connects so far
        self.backend_pid: int | None = None

    def add_event_listener(self, wake: Callable[[], None]) -> None:
        self._events.append(wake)

    def remove_event_listener(self, wake: Callable[[], None]) -> None:
        self._events.remove(wake)

    def add_nudge_listener(self, nudge: NudgeListener) -> None:
        self._nudges.append(nudge)

    def start(self, stop: asyncio.Event) -> list[asyncio.Task[None]]:
        return [asyncio.create_task(self.run(stop), name="cluster-notify")]

    async def run(self, stop: asyncio.Event) -> None:
        """Listen until ``stop`` is set, reconnecting with backoff."""
        backoff = Backoff(RECONNECT)
        while not stop.is_set():
            listening = asyncio.ensure_future(self._listen())
            await wait_for_any(stop, listening)
            if not listening.done():
                listening.cancel()
                await asyncio.gather(listening, return_exceptions=True)
                break
            had_connected = self.connected.is_set()
            self.connected.clear()
            self.backend_pid = None
            exc = listening.exception()
            if had_connected:
                backoff.succeeded()
            pause = backoff.failed()
            log.warning(
                "cluster notifications: connection %s (%s); reconnecting in %.1fs, "
                "polling meanwhile",
                "lost" if had_connected else "failed",
                f"{type(exc).__name__}: {exc}".strip() if exc else "closed",
                pause,
            )
            await wait_for_any(stop, timeout=pause)
        self.connected.clear()

    async def _listen(self) -> None:
        async with await psycopg.AsyncConnection.connect(
            conninfo(self.url), autocommit=True, connect_timeout=10, application_name=APP_NAME
        ) as conn:
            await conn.execute(f"LISTEN {EVENTS}")
            await conn.execute(f"LISTEN {NUDGE}")
            self.connections += 1
            self.backend_pid = conn.info.backend_pid
            self.connected.set()
            if self.connections > 1:
                log.info("cluster notifications: listening again")
            self._wake_all()  # whatever was sent while nobody listened
            while True:
                async for note in conn.notifies(timeout=PING_SECONDS):
                    self._heard(note.channel, note.payload)
                await conn.execute("SELECT 1")  # a dead connection raises here

    def _heard(self, channel: str, payload: str) -> None:
        if channel == EVENTS:
            for wake in list(self._events):
                wake()
        elif channel == NUDGE and payload:
            chain, _, tx_id = payload.partition(" ")
            for nudge in list(self._nudges):
                nudge(chain, tx_id or None)

    def _wake_all(self) -> None:
        for wake in list(self._events):
            wake()
        for nudge in list(self._nudges):
            nudge(None, None)


def nudge_locally(
    watchers: Mapping[str, Nudgeable], hints: Hints | None
) -> Callable[[str | None, str | None], None]:
    """What a nudge does here: the chain's hint desk (which also remembers the mempool
    transaction), or its watcher when there is no desk; a chain not watched here is
    ignored."""

    def nudge(chain: str | None, tx_id: str | None) -> None:
        for name in list(watchers) if chain is None else [chain]:
            if hints is not None and hints.heard(name, tx_id):
                continue
            watcher = watchers.get(name)
            if watcher is not None:
                watcher.nudge()

    return nudge


def build_listener(
    db: Database, watchers: Mapping[str, Nudgeable], hints: Hints | None
) -> Listener | None:
    """The instance's listener (None on SQLite), nudging the local watchers; the
    webhook dispatcher adds itself when it starts."""
    if db.dialect != "postgresql":
        return None
    listener = Listener(db.url)
    listener.add_nudge_listener(nudge_locally(watchers, hints))
    return listener
