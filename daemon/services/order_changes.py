"""Every change to an order goes through here: evaluate, store, record events.

The order row, its transfers and the events (the webhook outbox) are written
by the caller's one transaction, so a change and its webhook commit together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from daemon.domain.evaluation import Outcome, evaluate
from daemon.domain.events import PlannedEvent, plan_events
from daemon.domain.payments import Transfer, TransferKey, merge
from daemon.domain.states import OrderStatus
from daemon.services import json_codec
from daemon.services.identifiers import new_id
from daemon.services.order_records import (
    OrderRecord,
    OrderViews,
    TransferRecord,
    iso,
    load_transfers,
)
from daemon.storage.prepared import Prepared
from daemon.storage.tables import events, orders, transfers
from daemon.webhooks.targets import Targets


@dataclass(frozen=True, slots=True)
class Observation:
    """A watcher's news about one transfer to one of our scripts."""

    chain: str
    script: bytes
    asset: str
    transfer: Transfer
    block_height: int | None = None
    block_hash: str | None = None


INSERT_EVENT = Prepared(insert(events))


class OrderChanges:
    def __init__(self, views: OrderViews, targets: Targets | None = None) -> None:
        self.views = views
        self.targets = targets or Targets(None, allow_private=False)

    def write_event(
        self,
        conn: Connection,
        order: OrderRecord,
        records: Iterable[TransferRecord],
        event: PlannedEvent,
        now: datetime,
        *,
        data_json: str | None = None,
    ) -> str:
        """Write one event with the order as it is now (``data_json``: its JSON, if the
        caller already has it). The payload is the webhook body, byte for byte; the
        same insert queues its delivery to the order's target."""
        if data_json is None:
            records = list(records)
            data = self.views.order(order, records)
            if event.transfer is not None:
                for record in records:
                    if record.transfer.key == event.transfer:
                        data["payment"] = self.views.payment(order, record)
            data_json = json_codec.dumps(data)
        event_id = new_id("msg")
        # {"type", "timestamp", "data"}: the first two are fixed ASCII tokens.
        payload = f'{{"type":"{event.type}","timestamp":"{iso(now)}","data":{data_json}}}'
        INSERT_EVENT.execute(
            conn,
            {
                "id": event_id,
                "order_seq": order.seq,
                "type": str(event.type),
                "payload": payload,
                "created_at": now,
                **self.targets.for_order(order.callback_url).values(now),
            },
        )
        return event_id

    def apply(
        self,
        conn: Connection,
        order: OrderRecord,
        records: list[TransferRecord],
        changed: Mapping[TransferKey, TransferRecord],
        now: datetime,
        *,
        status: OrderStatus | None = None,
    ) -> tuple[OrderRecord, list[TransferRecord]]:
        """Re-evaluate ``order`` with ``changed`` transfers merged in, and persist it.

        Transfers of another asset to the order's address (USDC sent to an ETH order) are
        recorded and shown, but only the order's own asset counts towards its amount.
        """
        asset_of = {r.transfer.key: r.asset for r in records}
        asset_of.update((key, r.asset) for key, r in changed.items())
        old = {r.transfer.key: r.transfer for r in records}
        new = dict(old)
        for record in changed.values():
            new = merge(new, record.transfer)
        counted_old = {k: t for k, t in old.items() if asset_of[k] == order.asset}
        counted_new = {k: t for k, t in new.items() if asset_of[k] == order.asset}
        start = status if status is not None else order.status
        outcome = evaluate(order.terms, start, counted_new.values(), now)
        planned = plan_events(order.terms, order.outcome, outcome, counted_old, counted_new)

        by_key = {r.transfer.key: r for r in records}
        for key, record in changed.items():
            merged = new[key]
            known = by_key.get(key)
            if known is None:
                seq = self._insert_transfer(conn, order, record, merged, now)
                by_key[key] = replace(record, seq=seq, transfer=merged)
            else:
                by_key[key] = replace(record, seq=known.seq, transfer=merged)
                self._update_transfer(conn, by_key[key], now)
        new_records = sorted(by_key.values(), key=lambda r: r.seq)

        if outcome != order.outcome:
            order = self._store_outcome(conn, order, outcome, now)
        for event in planned:
            self.write_event(conn, order, new_records, event, now)
        return order, new_records

    def _store_outcome(
        self, conn: Connection, order: OrderRecord, outcome: Outcome, now: datetime
    ) -> OrderRecord:
        conn.execute(
            update(orders)
            .where(orders.c.seq == order.seq)
            .values(
                status=str(outcome.status),
                exception=str(outcome.exception),
                received_base=outcome.received,
                received_confirmed_base=outcome.received_confirmed,
                updated_at=now,
            )
        )
        return replace(
            order,
            status=outcome.status,
            exception=outcome.exception,
            received_base=outcome.received,
            received_confirmed_base=outcome.received_confirmed,
            updated_at=now,
        )

    @staticmethod
    def _insert_transfer(
        conn: Connection,
        order: OrderRecord,
        record: TransferRecord,
        transfer: Transfer,
        now: datetime,
    ) -> int:
        result = conn.execute(
            insert(transfers)
            .values(
                order_seq=order.seq,
                chain=order.chain,
                tx_hash=transfer.key.tx_hash,
                output_index=transfer.key.index,
                asset=record.asset,
                amount_base=transfer.amount,
                block_height=record.block_height,
                block_hash=record.block_hash,
                confirmations=transfer.confirmations,
                finalized=transfer.finalized,
                removed=transfer.removed,
                seen_at=transfer.seen_at,
                updated_at=now,
            )
            .returning(transfers.c.seq)
        )
        return int(result.scalar_one())

    @staticmethod
    def _update_transfer(conn: Connection, record: TransferRecord, now: datetime) -> None:
        t = record.transfer
        conn.execute(
            update(transfers)
            .where(transfers.c.seq == record.seq)
            .values(
                amount_base=t.amount,
                block_height=record.block_height,
                block_hash=record.block_hash,
                confirmations=t.confirmations,
                finalized=t.finalized,
                removed=t.removed,
                seen_at=t.seen_at,
                updated_at=now,
            )
        )

    def record(
        self, conn: Connection, observations: Iterable[Observation], now: datetime
    ) -> list[OrderRecord]:
        """The seam the chain watchers call: match transfers to orders and apply them.

        Matching is by (chain, script); a script belongs to its order forever, so a
        payment to a closed order is still recorded and reported.
        """
        grouped: dict[tuple[str, bytes], list[Observation]] = {}
        for obs in observations:
            grouped.setdefault((obs.chain, obs.script), []).append(obs)
        changed_orders: list[OrderRecord] = []
        for (chain, script), batch in grouped.items():
            row = conn.execute(
                select(orders).where(orders.c.chain == chain, orders.c.script == script)
            ).first()
            if row is None:
                continue
            order = OrderRecord.from_row(row)
            records = load_transfers(conn, [order.seq])[order.seq]
            # Several observations of one transfer in one batch: merged like any other
            # news (the earliest sighting stays), never counted twice.
            changed: dict[TransferKey, TransferRecord] = {}
            for obs in batch:
                known = changed.get(obs.transfer.key)
                transfer = obs.transfer
                if known is not None:
                    transfer = merge({transfer.key: known.transfer}, transfer)[transfer.key]
                changed[transfer.key] = TransferRecord(
                    0, obs.asset, transfer, obs.block_height, obs.block_hash
                )
            order, _ = self.apply(conn, order, records, changed, now)
            changed_orders.append(order)
        return changed_orders

    def refresh(self, conn: Connection, order: OrderRecord, now: datetime) -> OrderRecord:
        records = load_transfers(conn, [order.seq])[order.seq]
        order, _ = self.apply(conn, order, records, {}, now)
        return order
