"""Order use cases shared by the HTTP API and the CLI: create, read, list, cancel, expire."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select
from sqlalchemy.exc import IntegrityError

from daemon.config.schema import OrdersConfig
from daemon.domain.events import PlannedEvent
from daemon.domain.states import (
    OPEN_STATUSES,
    EventType,
    OrderException,
    OrderStatus,
)
from daemon.services import json_codec
from daemon.services.address_allocation import next_address
from daemon.services.cursors import decode_cursor, encode_cursor
from daemon.services.errors import Conflict, InvalidRequest, NotFound
from daemon.services.identifiers import checkout_token, new_id
from daemon.services.order_changes import OrderChanges
from daemon.services.order_options import with_options
from daemon.services.order_records import OrderRecord, load_order, load_transfers
from daemon.services.order_requests import NewOrder, OrderRequests, confirmations_for
from daemon.services.order_shape import Order
from daemon.services.order_views import OrderViews
from daemon.services.priced_orders import PricedOrders
from daemon.services.registry import ChainRegistry
from daemon.services.request_checks import check_callback_url, check_metadata, check_url
from daemon.storage.prepared import Prepared
from daemon.storage.tables import order_options, orders
from daemon.webhooks.targets import Targets

# NewOrder, the create use case's input, is declared with the checks of what it asks.
__all__ = ["INSERT_ORDER", "CreatedOrder", "NewOrder", "OrderPage", "OrderService"]


@dataclass(frozen=True, slots=True)
class CreatedOrder:
    view: Order
    json: str  # the view as JSON, for callers that send it on
    replayed: bool  # an earlier request with the same Idempotency-Key made it


@dataclass(frozen=True, slots=True)
class OrderPage:
    data: list[Order]
    next_cursor: str | None


class OrderService:
    def __init__(
        self,
        registry: ChainRegistry,
        settings: OrdersConfig,
        targets: Targets | None = None,
        *,
        public_url: str = "http://127.0.0.1:8080",
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.tolerance_ppm = settings.tolerance_ppm
        self.views = OrderViews(registry, public_url)
        self.targets = targets or Targets(None, allow_private=False)
        self.changes = OrderChanges(self.views, self.targets)
        self.priced = PricedOrders(registry, settings.addresses, confirmations_for)
        self.requests = OrderRequests(registry, self.priced)

    # -- create ---------------------------------------------------------------

    def create(
        self,
        conn: Connection,
        request: NewOrder,
        now: datetime,
        *,
        api_key_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> CreatedOrder:
        """The new order (or, for a repeated Idempotency-Key, the one made first)."""
        fingerprint = request.fingerprint() if idempotency_key is not None else None
        if idempotency_key is not None:
            replay = self._replay(conn, api_key_id, idempotency_key, fingerprint)
            if replay is not None:
                return CreatedOrder(replay, json_codec.dumps(replay), replayed=True)
        plan = self.requests.plan(request)
        if plan is None:
            chain, asset, amount, confirmations = self.requests.crypto(request)
        expires_in = request.expires_in or self.settings.expires_in
        if request.callback_url is not None:
            check_callback_url(request.callback_url)
            self.targets.check_literal(request.callback_url)
        if request.redirect_url is not None:
            check_url(request.redirect_url, "redirect_url")
        if request.metadata is not None:
            check_metadata(request.metadata)
        if plan is None:
            derived = next_address(conn, chain.deriver)
            where: dict[str, Any] = {
                "chain": chain.name,
                "asset": asset.symbol,
                "decimals": asset.decimals,
                "amount_base": amount,
                "address": derived.address,
                "script": derived.script,
                "keyspace": chain.deriver.keyspace,
                "derivation_index": derived.index,
                "confirmations_required": confirmations,
            }
        elif plan.single:
            where = self.priced.single_values(conn, plan)
        else:
            where = {"confirmations_required": max_depth(plan.depths.values())}
        expires_at = now + expires_in
        values = {
            "id": new_id("ord"),
            "order_id": request.order_id,
            **EMPTY_WHERE,
            **where,
            "status": str(OrderStatus.PENDING),
            "exception": str(OrderException.NONE),
            "tolerance_ppm": self.tolerance_ppm,
            "received_base": 0,
            "received_confirmed_base": 0,
            "created_at": now,
            "updated_at": now,
            "expires_at": expires_at,
            "late_until": expires_at + self.settings.late_window,
            "callback_url": request.callback_url,
            "metadata": json_codec.dumps(request.metadata) if request.metadata else None,
            "api_key_id": api_key_id,
            "idempotency_key": idempotency_key,
            "request_hash": fingerprint,
            "price_minor": None if plan is None else plan.price_minor,
            "price_currency": None if plan is None else plan.currency,
            "checkout_token": checkout_token(),
            "redirect_url": request.redirect_url,
        }
        if idempotency_key is None:
            seq = INSERT_ORDER.scalar(conn, values)
        else:
            try:
                with conn.begin_nested():
                    seq = INSERT_ORDER.scalar(conn, values)
            except IntegrityError:
                # A concurrent request with the same Idempotency-Key won the race.
                replay = self._replay(conn, api_key_id, idempotency_key, fingerprint)
                if replay is None:
                    raise
                return CreatedOrder(replay, json_codec.dumps(replay), replayed=True)
        order = OrderRecord.from_row({**values, "seq": seq})
        if plan is not None:
            taken = self.priced.store(conn, seq, plan)
            order = replace(order, options=plan.options, addresses=tuple(taken))
        view = self.views.order(order, [])
        text = json_codec.dumps(view)
        self.changes.write_event(
            conn, order, [], PlannedEvent(EventType.CREATED), now, data_json=text
        )
        return CreatedOrder(view, text, replayed=False)

    def _replay(
        self, conn: Connection, api_key_id: str | None, key: str | None, fingerprint: str | None
    ) -> Order | None:
        if key is None:
            return None
        row = conn.execute(
            select(orders).where(
                orders.c.idempotency_key == key,
                orders.c.api_key_id.is_(None)
                if api_key_id is None
                else orders.c.api_key_id == api_key_id,
            )
        ).first()
        if row is None:
            return None
        if row.request_hash != fingerprint:
            raise Conflict(
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different request body",
            )
        order = with_options(conn, [OrderRecord.from_row(row)])[0]
        return self.views.order(order, load_transfers(conn, [order.seq])[order.seq])

    # -- read -------------------------------------------------------------------

    def get(self, conn: Connection, public_id: str) -> Order:
        order = self._load(conn, public_id)
        return self.views.order(order, load_transfers(conn, [order.seq])[order.seq])

    def _load(self, conn: Connection, public_id: str, *, lock: bool = False) -> OrderRecord:
        order = load_order(conn, public_id, lock=lock) if len(public_id) <= 40 else None
        if order is None:
            raise NotFound("order_not_found", f"no order with id {public_id[:60]!r}")
        return order

    def list(
        self,
        conn: Connection,
        *,
        status: str | None = None,
        chain: str | None = None,
        order_id: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> OrderPage:
        query = select(orders).order_by(orders.c.seq.desc()).limit(limit + 1)
        if status is not None:
            query = query.where(orders.c.status == status)
        if chain is not None:  # the order's chain, or one of its options'
            offered = select(order_options.c.seq).where(
                order_options.c.order_seq == orders.c.seq, order_options.c.chain == chain
            )
            query = query.where(or_(orders.c.chain == chain, offered.exists()))
        if order_id is not None:
            query = query.where(orders.c.order_id == order_id)
        if cursor is not None:
            query = query.where(orders.c.seq < decode_cursor("o", cursor))
        records = with_options(conn, [OrderRecord.from_row(r) for r in conn.execute(query)])
        more = len(records) > limit
        records = records[:limit]
        found = load_transfers(conn, [o.seq for o in records])
        return OrderPage(
            data=[self.views.order(o, found[o.seq]) for o in records],
            next_cursor=encode_cursor("o", records[-1].seq) if more else None,
        )

    # -- change -----------------------------------------------------------------

    def cancel(self, conn: Connection, public_id: str, now: datetime) -> Order:
        order = self._load(conn, public_id, lock=True)
        if order.status not in OPEN_STATUSES:
            raise Conflict(
                "order_not_cancellable",
                f"the order is {order.status}; only open orders can be cancelled",
            )
        records = load_transfers(conn, [order.seq])[order.seq]
        order, records = self.changes.apply(
            conn, order, records, {}, now, status=OrderStatus.CANCELLED
        )
        return self.views.order(order, records)

    def pick(
        self, conn: Connection, public_id: str, chain: str, asset: str, now: datetime
    ) -> Order:
        """The customer picks an option: its address is taken now if it has none yet
        (``orders.addresses: lazy``); picking again changes nothing."""
        order = self._load(conn, public_id, lock=True)
        wanted = (chain, asset.upper())
        option = next((o for o in order.options if (o.chain, o.asset) == wanted), None)
        if option is None and order.single and (order.chain, order.asset) == wanted:
            return self.get(conn, public_id)
        if option is None:
            raise InvalidRequest(
                "unknown_option", f"the order is not offered in {asset[:20]!r} on {chain[:40]!r}"
            )
        if not order.single and not any(a.chain == chain for a in order.addresses):
            if order.status not in OPEN_STATUSES:
                raise Conflict("order_not_open", f"the order is {order.status}")
            taken = self.priced.pick(conn, order.seq, order.options, order.addresses, option)
            order = replace(order, addresses=order.addresses + tuple(taken))
        return self.views.order(order, load_transfers(conn, [order.seq])[order.seq])

    def refresh(self, conn: Connection, public_id: str, now: datetime) -> Order:
        """Evaluate one order again by what is recorded and the clock (any status)."""
        order = self.changes.refresh(conn, self._load(conn, public_id, lock=True), now)
        return self.views.order(order, load_transfers(conn, [order.seq])[order.seq])

    def refresh_due(self, conn: Connection, now: datetime, limit: int = 500) -> int:
        """Expire pending orders past their time, invalidate stuck ones; how many changed.

        The due orders are locked as read (ascending seq), skipping any another writer
        holds: that writer sees them as they are after this, and the next round takes
        them. Skipping, this job never waits for a lock, so never in a cycle."""
        due = conn.execute(
            select(orders)
            .where(
                or_(
                    and_(orders.c.status == str(OrderStatus.PENDING), orders.c.expires_at < now),
                    and_(
                        orders.c.status == str(OrderStatus.PROCESSING),
                        orders.c.late_until < now,
                    ),
                )
            )
            .order_by(orders.c.seq)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        changed = 0
        for before in with_options(conn, [OrderRecord.from_row(row) for row in due]):
            after = self.changes.refresh(conn, before, now)
            changed += after.status != before.status
        return changed


INSERT_ORDER = Prepared(insert(orders).returning(orders.c.seq))

# A multi-option order's row: no chain, asset, amount or address of its own.
EMPTY_WHERE: dict[str, Any] = dict.fromkeys(
    ("chain", "asset", "decimals", "amount_base", "address", "script", "keyspace",
     "derivation_index", "confirmations_required"),
)  # fmt: skip


def max_depth(depths: Iterable[int | None]) -> int | None:
    """A multi-option order's confirmations as one figure: the deepest of its chains'
    (None, the finalized tag, when every chain waits for it)."""
    known = [d for d in depths if d is not None]
    return max(known) if known else None
