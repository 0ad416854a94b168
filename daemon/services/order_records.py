"""Orders and transfers as read from storage, and their public JSON form."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select

from daemon.domain.evaluation import Outcome, Terms
from daemon.domain.money import format_amount
from daemon.domain.payments import Transfer, TransferKey
from daemon.domain.states import OrderException, OrderStatus
from daemon.services import json_codec
from daemon.services.order_shape import Order, Payment, PaymentState
from daemon.services.registry import ChainRegistry
from daemon.storage.tables import orders, transfers


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class TransferRecord:
    seq: int
    asset: str
    transfer: Transfer
    block_height: int | None
    block_hash: str | None

    @classmethod
    def from_row(cls, row: Row[Any]) -> TransferRecord:
        return cls(
            seq=row.seq,
            asset=row.asset,
            transfer=Transfer(
                key=TransferKey(row.tx_hash, row.output_index),
                amount=row.amount_base,
                seen_at=row.seen_at,
                confirmations=row.confirmations,
                finalized=row.finalized,
                removed=row.removed,
                log_index=row.log_index,
            ),
            block_height=row.block_height,
            block_hash=row.block_hash,
        )


@dataclass(frozen=True, slots=True)
class OrderRecord:
    seq: int
    id: str
    order_id: str
    chain: str
    asset: str
    decimals: int
    amount_base: int
    address: str
    derivation_index: int
    status: OrderStatus
    exception: OrderException
    confirmations_required: int | None
    tolerance_ppm: int
    received_base: int
    received_confirmed_base: int
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    late_until: datetime
    callback_url: str | None
    metadata: dict[str, Any] | None

    @classmethod
    def from_row(cls, row: Row[Any] | Mapping[str, Any]) -> OrderRecord:
        data: Mapping[Any, Any] = row._mapping if isinstance(row, Row) else row
        return cls(
            seq=data["seq"],
            id=data["id"],
            order_id=data["order_id"],
            chain=data["chain"],
            asset=data["asset"],
            decimals=data["decimals"],
            amount_base=data["amount_base"],
            address=data["address"],
            derivation_index=data["derivation_index"],
            status=OrderStatus(data["status"]),
            exception=OrderException(data["exception"]),
            confirmations_required=data["confirmations_required"],
            tolerance_ppm=data["tolerance_ppm"],
            received_base=data["received_base"],
            received_confirmed_base=data["received_confirmed_base"],
            created_at=data["created_at"],
            updated_at=data["updated_at"],
            expires_at=data["expires_at"],
            late_until=data["late_until"],
            callback_url=data["callback_url"],
            metadata=json_codec.loads(data["metadata"]) if data["metadata"] else None,
        )

    @property
    def terms(self) -> Terms:
        return Terms(
            amount_due=self.amount_base,
            expires_at=self.expires_at,
            late_until=self.late_until,
            confirmations=self.confirmations_required,
            tolerance_ppm=self.tolerance_ppm,
        )

    @property
    def outcome(self) -> Outcome:
        return Outcome(
            self.status, self.exception, self.received_base, self.received_confirmed_base
        )


def load_transfers(conn: Connection, seqs: Sequence[int]) -> dict[int, list[TransferRecord]]:
    found: dict[int, list[TransferRecord]] = {seq: [] for seq in seqs}
    if not seqs:
        return found
    rows = conn.execute(
        select(transfers).where(transfers.c.order_seq.in_(seqs)).order_by(transfers.c.seq)
    )
    for row in rows:
        found[row.order_seq].append(TransferRecord.from_row(row))
    return found


def load_order(conn: Connection, public_id: str, *, lock: bool = False) -> OrderRecord | None:
    query = select(orders).where(orders.c.id == public_id)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    return OrderRecord.from_row(row) if row is not None else None


class OrderViews:
    """The order as the API returns it and webhooks carry it (its shape, and the
    schema /openapi.json publishes: daemon.services.order_shape)."""

    URI_CACHE_SIZE = 50_000

    def __init__(self, registry: ChainRegistry) -> None:
        self.registry = registry
        # An order's URI never changes, and each change to an order renders it again
        # (EIP-55 checksums cost a Keccak hash): remember the recent ones.
        self._uris: dict[int, str | None] = {}

    def payment_uri(self, order: OrderRecord) -> str | None:
        known = self._uris.get(order.seq, "")
        if known != "":
            return known
        chain = self.registry.get(order.chain)
        asset = chain.asset(order.asset) if chain else None
        if chain is None or asset is None:
            return None  # the chain was removed from the config since
        uri = chain.payment_uri(order.address, asset, order.amount_base)
        if len(self._uris) >= self.URI_CACHE_SIZE:
            self._uris.clear()
        self._uris[order.seq] = uri
        return uri

    def payment(self, order: OrderRecord, record: TransferRecord) -> Payment:
        t = record.transfer
        counted = record.asset == order.asset
        state: PaymentState
        if t.removed:
            state = "removed"
        elif order.terms.is_confirmed(t):
            state = "confirmed"
        else:
            state = "detected"
        return {
            "tx_hash": t.key.tx_hash,
            "index": t.key.index,
            "log_index": t.log_index,
            "asset": record.asset,
            "amount": format_amount(t.amount, order.decimals) if counted else None,
            "amount_base": t.amount,
            "counted": counted,
            "status": state,
            "confirmations": t.confirmations,
            "block_height": record.block_height,
            "block_hash": record.block_hash,
            "seen_at": iso(t.seen_at),
        }

    def order(self, order: OrderRecord, records: Iterable[TransferRecord]) -> Order:
        d = order.decimals
        return {
            "id": order.id,
            "order_id": order.order_id,
            "chain": order.chain,
            "asset": order.asset,
            "amount": format_amount(order.amount_base, d),
            "amount_base": order.amount_base,
            "address": order.address,
            "derivation_index": order.derivation_index,
            "payment_uri": self.payment_uri(order),
            "status": order.status,
            "exception": order.exception,
            "created_at": iso(order.created_at),
            "updated_at": iso(order.updated_at),
            "expires_at": iso(order.expires_at),
            "late_until": iso(order.late_until),
            "confirmations_required": "finalized"
            if order.confirmations_required is None
            else order.confirmations_required,
            "received": format_amount(order.received_base, d),
            "received_base": order.received_base,
            "received_confirmed": format_amount(order.received_confirmed_base, d),
            "received_confirmed_base": order.received_confirmed_base,
            "payments": [self.payment(order, r) for r in records],
            "callback_url": order.callback_url,
            "metadata": order.metadata,
        }
