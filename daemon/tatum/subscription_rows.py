"""The ``tatum_subscriptions`` rows: which subscriptions paywatch holds, which it needs.

An order's address needs a subscription while the order is open (pending or
processing) on a chain watched through Tatum. Rows and order addresses meet on
(chain, script), unique among every order's addresses (daemon/storage/order_targets.py).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, delete, exists, insert, select

from daemon.domain.states import OPEN_STATUSES
from daemon.storage.order_targets import order_targets
from daemon.storage.tables import tatum_subscriptions

_OPEN = sorted(OPEN_STATUSES)


@dataclass(frozen=True, slots=True)
class Wanted:
    chain: str
    script: bytes
    address: str


@dataclass(frozen=True, slots=True)
class Held:
    id: str
    chain: str
    script: bytes
    address: str


def missing(conn: Connection, chains: Collection[str]) -> list[Wanted]:
    """Open orders' addresses on ``chains`` that have no subscription."""
    if not chains:
        return []
    subs, t = tatum_subscriptions, order_targets(chains)
    query = select(t.c.chain, t.c.script, t.c.address).where(
        t.c.status.in_(_OPEN),
        ~exists().where(and_(subs.c.chain == t.c.chain, subs.c.script == t.c.script)),
    )
    return [Wanted(chain, bytes(script), address) for chain, script, address in conn.execute(query)]


def surplus(conn: Connection, chains: Collection[str]) -> list[Held]:
    """Subscriptions no open order needs (closed orders, chains no longer on Tatum)."""
    subs, t = tatum_subscriptions, order_targets()
    order_open = exists().where(
        t.c.chain == subs.c.chain, t.c.script == subs.c.script, t.c.status.in_(_OPEN)
    )
    needed = and_(subs.c.chain.in_(sorted(chains)), order_open)
    query = select(subs.c.id, subs.c.chain, subs.c.script, subs.c.address).where(~needed)
    return [Held(i, c, bytes(s), a) for i, c, s, a in conn.execute(query)]


def held(conn: Connection) -> list[Held]:
    subs = tatum_subscriptions
    query = select(subs.c.id, subs.c.chain, subs.c.script, subs.c.address)
    return [Held(i, c, bytes(s), a) for i, c, s, a in conn.execute(query)]


def open_addresses(conn: Connection, chains: Collection[str]) -> list[Wanted]:
    """Every open order's address on ``chains`` (with or without a subscription)."""
    if not chains:
        return []
    t = order_targets(chains)
    query = select(t.c.chain, t.c.script, t.c.address).where(t.c.status.in_(_OPEN))
    return [Wanted(chain, bytes(script), address) for chain, script, address in conn.execute(query)]


def record(conn: Connection, subscription_id: str, wanted: Wanted, now: datetime) -> None:
    conn.execute(
        insert(tatum_subscriptions).values(
            id=subscription_id,
            chain=wanted.chain,
            script=wanted.script,
            address=wanted.address,
            created_at=now,
        )
    )


def forget(conn: Connection, ids: Iterable[str]) -> None:
    wanted = list(ids)
    if wanted:
        conn.execute(delete(tatum_subscriptions).where(tatum_subscriptions.c.id.in_(wanted)))
