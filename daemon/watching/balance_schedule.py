"""When the balance check looks at an order's address: a few moments in its life.

Asking every open address's balance every round costs two JSON-RPC calls per open
order per round: at 1,000 open orders and a round a minute, 400 calls per 12 s block.
Instead each address is checked at these moments (``t`` below is the round's time,
the earlier of the daemon's clock and the time of the last block the watcher has
processed, so a watcher that lags never makes a moment pass before its blocks are in):

1. ``created_at + after_creation``: soon after creation, for fast payments;
2. ``expires_at``: at expiry, so whether a payment was in time is judged with
   everything that arrived before it (a new transfer is dated by its block);
3. ``late_until``: at the end of the late window, for late payments;

and on demand (``POST /v1/orders/{id}/refresh``, ``paywatch order refresh``). A round
checks the orders (pending, processing or expired) with a moment in ``(previous t,
t]``, all in batched calls; a round with none due asks the node nothing. So a round
costs calls in proportion to the orders that reached a moment since the last one,
and each order costs at most three checks (two calls each) over its life, however
long it stays open, plus a binary search over blocks to date a new balance.

After a start (``since`` is None) the first round checks every open order once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, CompoundSelect, Connection, and_, or_, select, union_all

from chains.watching import ChainUnavailable
from daemon.domain.states import OrderStatus
from daemon.services.errors import Kind, ServiceError
from daemon.services.order_shape import Order
from daemon.services.orders import OrderService
from daemon.storage.database import Database
from daemon.storage.tables import order_addresses, orders


class NodeUnavailable(ServiceError):
    kind = Kind.UNAVAILABLE


CHECKED = [OrderStatus.PENDING.value, OrderStatus.PROCESSING.value, OrderStatus.EXPIRED.value]


@dataclass
class BalanceSchedule:
    after_creation: timedelta = timedelta(minutes=1)
    since: datetime | None = None  # the ``t`` the previous round covered up to

    def due(self, chain: str, until: datetime) -> CompoundSelect[Any]:
        """The orders of ``chain`` whose balance is due in the round at ``until``."""
        if self.since is None:
            return open_orders(chain, until)
        since, after = self.since, self.after_creation
        return addresses_on(
            chain,
            orders.c.status.in_(CHECKED),
            or_(
                and_(orders.c.created_at > since - after, orders.c.created_at <= until - after),
                and_(orders.c.expires_at > since, orders.c.expires_at <= until),
                and_(orders.c.late_until > since, orders.c.late_until <= until),
            ),
        )

    def covered(self, until: datetime) -> None:
        """The round at ``until`` is done (a failed round is not: its moments stay due)."""
        if self.since is None or until > self.since:
            self.since = until


def open_orders(chain: str, now: datetime) -> CompoundSelect[Any]:
    """Every order of ``chain`` that can still receive a payment it reports."""
    return addresses_on(
        chain,
        or_(
            orders.c.status.in_([OrderStatus.PENDING.value, OrderStatus.PROCESSING.value]),
            and_(orders.c.status == OrderStatus.EXPIRED.value, orders.c.late_until > now),
        ),
    )


def addresses_on(chain: str, *where: ColumnElement[bool]) -> CompoundSelect[Any]:
    """The order rows (as ``orders``) with ``script`` and ``address`` on ``chain``: a
    single-option order's own, and a multi-option order's address there."""
    a = order_addresses
    kept = [c for c in orders.c if c.name not in ("script", "address")]
    single = select(*kept, orders.c.script, orders.c.address).where(orders.c.chain == chain)
    several = (
        select(*kept, a.c.script, a.c.address)
        .join(a, a.c.order_seq == orders.c.seq)
        .where(a.c.chain == chain)
    )
    return union_all(single.where(*where), several.where(*where))


class OrderCheck(Protocol):
    async def check_order(self, public_id: str) -> object: ...


class Watched(Protocol):
    @property
    def balance_check(self) -> OrderCheck | None: ...


async def refresh_order(
    db: Database,
    service: OrderService,
    watchers: Mapping[str, Watched],
    clock: Callable[[], datetime],
    public_id: str,
) -> Order:
    """Check the order's address balance now (where its chain has a balance check) and
    evaluate the order again; the order as the API shows it."""
    view = await db.run_read(lambda conn: service.get(conn, public_id))
    for chain in dict.fromkeys(o["chain"] for o in view["options"]):
        watcher = watchers.get(chain)
        check = watcher.balance_check if watcher is not None else None
        if check is not None:
            try:
                await check.check_order(str(view["id"]))
            except ChainUnavailable as exc:
                raise NodeUnavailable("chain_unavailable", f"{chain}: {exc}") from None

    def refresh(conn: Connection) -> Order:
        return service.refresh(conn, public_id, clock())

    return await db.run(refresh)
