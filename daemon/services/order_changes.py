"""Every change to an order goes through here: evaluate, store, record events.

The order row, its transfers and the events (the webhook outbox) are written
by the caller's one transaction, so a change and its webhook commit together.
Each change starts from the order row as it is now, locked for the rest of the
transaction (see daemon/services/transfer_rows.py for the lock order).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection

from daemon.domain.evaluation import evaluate
from daemon.domain.events import PlannedEvent, plan_events
from daemon.domain.payments import Transfer, TransferKey, merge
from daemon.domain.states import OrderStatus
from daemon.services import json_codec, transfer_rows
from daemon.services.identifiers import new_id
from daemon.services.order_records import OrderRecord, TransferRecord, iso, load_transfers
from daemon.services.order_shape import EventOrder, Order
from daemon.services.order_views import OrderViews
from daemon.services.transfer_rows import INSERT_EVENT, RowWrites
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
        writes: RowWrites | None = None,
    ) -> str:
        """Write one event with the order as it is now (``data_json``: its JSON, if the
        caller already has it). The payload is the webhook body, byte for byte; the
        same insert queues its delivery to the order's target."""
        if data_json is None:
            records = list(records)
            data: Order | EventOrder = self.views.order(order, records)
            if event.transfer is not None:
                for record in records:
                    if record.transfer.key == event.transfer:
                        data = {**data, "payment": self.views.payment(order, record)}
            data_json = json_codec.dumps(data)
        event_id = new_id("msg")
        # {"type", "timestamp", "data"}: the first two are fixed ASCII tokens.
        payload = f'{{"type":"{event.type}","timestamp":"{iso(now)}","data":{data_json}}}'
        row = {
            "id": event_id,
            "order_seq": order.seq,
            "type": str(event.type),
            "payload": payload,
            "created_at": now,
            **self.targets.for_order(order.callback_url).values(now),
        }
        if writes is None:
            INSERT_EVENT.execute(conn, row)
        else:
            writes.events.append(row)
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
        writes: RowWrites | None = None,
    ) -> tuple[OrderRecord, list[TransferRecord]]:
        """Re-evaluate ``order`` with ``changed`` transfers merged in, and persist it.

        Transfers of another asset to the order's address (USDC sent to an ETH order) are
        recorded and shown, but only the order's own asset counts towards its amount (an
        order with several options: its options' assets, each as its share of the price,
        see daemon/services/order_options.py).
        """
        old = {r.transfer.key: r.transfer for r in records}
        new = dict(old)
        for record in changed.values():
            new = merge(new, record.transfer)
        current = {r.transfer.key: r for r in records}
        current.update((key, replace(record, transfer=new[key])) for key, record in changed.items())
        counting = order.counting
        if counting is None:
            counted_old = {k: t for k, t in old.items() if current[k].asset == order.asset}
            counted_new = {k: t for k, t in new.items() if current[k].asset == order.asset}
        else:
            counted_old = counting.transfers(records)
            counted_new = counting.transfers(current.values())
        start = status if status is not None else order.status
        outcome = evaluate(order.terms, start, counted_new.values(), now)
        if counting is not None:
            outcome = counting.stored(outcome)
        planned = plan_events(order.terms, order.outcome, outcome, counted_old, counted_new)

        own = writes is None
        writes = writes if writes is not None else RowWrites()
        by_key = {r.transfer.key: r for r in records}
        # New transfers are inserted in this order, after every stored one: their
        # place in the list is known before their row ids are.
        next_seq = max((r.seq for r in records), default=0) + 1
        for key, record in changed.items():
            merged = new[key]
            known = by_key.get(key)
            if known is None:
                writes.new_transfers.append(transfer_rows.transfer_row(order, record, merged, now))
                by_key[key] = replace(record, seq=next_seq, transfer=merged)
                next_seq += 1
            else:
                updated = replace(record, seq=known.seq, transfer=merged)
                by_key[key] = updated
                if updated != known:  # news that changes nothing writes nothing
                    writes.transfer_updates.append(transfer_rows.transfer_update(updated, now))
        new_records = sorted(by_key.values(), key=lambda r: r.seq)

        if outcome != order.outcome:
            writes.outcomes.append(
                transfer_rows.outcome_update(order.seq, order.status, outcome, now)
            )
            order = replace(
                order,
                status=outcome.status,
                exception=outcome.exception,
                received_base=outcome.received,
                received_confirmed_base=outcome.received_confirmed,
                updated_at=now,
            )
        if planned:
            self._write_events(conn, order, new_records, planned, now, writes)
        if own:
            writes.flush(conn)
        return order, new_records

    def _write_events(
        self,
        conn: Connection,
        order: OrderRecord,
        records: list[TransferRecord],
        planned: Iterable[PlannedEvent],
        now: datetime,
        writes: RowWrites,
    ) -> None:
        """The order's view is built once for all the events of one change."""
        data = self.views.order(order, records)
        plain: str | None = None
        by_key = {r.transfer.key: r for r in records}
        for event in planned:
            record = None if event.transfer is None else by_key.get(event.transfer)
            plain = plain or json_codec.dumps(data)
            if record is None:
                data_json = plain
            else:
                # The same object with "payment" added as its last member.
                payment = json_codec.dumps(self.views.payment(order, record))
                data_json = f'{plain[:-1]},"payment":{payment}}}'

            self.write_event(conn, order, records, event, now, data_json=data_json, writes=writes)

    def record(
        self, conn: Connection, observations: Iterable[Observation], now: datetime
    ) -> list[OrderRecord]:
        """The seam the chain watchers call: match transfers to orders and apply them.

        Matching is by (chain, script); a script belongs to its order forever, so a
        payment to a closed order is still recorded and reported. The orders are read
        locked, after the chain's writer lock: a cancel or an expiry committed a moment
        ago is what this change starts from, never overwritten.
        """
        grouped: dict[tuple[str, bytes], list[Observation]] = {}
        for obs in observations:
            grouped.setdefault((obs.chain, obs.script), []).append(obs)
        by_chain: dict[str, list[bytes]] = {}
        for chain, script in grouped:
            by_chain.setdefault(chain, []).append(script)
        for chain in sorted(by_chain):
            self.lock_chain(conn, chain)
        owners = {
            (chain, script): order
            for chain, scripts in by_chain.items()
            for script, order in transfer_rows.orders_by_script(conn, chain, scripts).items()
        }
        known = load_transfers(conn, [order.seq for order in owners.values()])
        writes = RowWrites()
        changed_orders: list[OrderRecord] = []
        for (chain, script), batch in grouped.items():
            order = owners.get((chain, script))
            if order is None:
                continue
            records = known[order.seq]
            # Several observations of one transfer in one batch: merged like any other
            # news (the earliest sighting stays), never counted twice.
            changed: dict[TransferKey, TransferRecord] = {}
            for obs in batch:
                before = changed.get(obs.transfer.key)
                transfer = obs.transfer
                if before is not None:
                    transfer = merge({transfer.key: before.transfer}, transfer)[transfer.key]
                changed[transfer.key] = TransferRecord(
                    0, obs.asset, transfer, obs.block_height, obs.block_hash, obs.chain
                )
            order, _ = self.apply(conn, order, records, changed, now, writes=writes)
            changed_orders.append(order)
        writes.flush(conn)
        return changed_orders

    @staticmethod
    def lock_chain(conn: Connection, chain: str) -> None:
        """Take ``chain``'s order-writer lock for this transaction (before reading the
        transfers a change will be computed from, as the balance check does)."""
        transfer_rows.lock_chain(conn, chain)

    def refresh(self, conn: Connection, order: OrderRecord, now: datetime) -> OrderRecord:
        """Re-evaluate ``order`` by the clock; ``order`` must have been read locked."""
        records = load_transfers(conn, [order.seq])[order.seq]
        order, _ = self.apply(conn, order, records, {}, now)
        return order
