"""Orders and transfers as read from storage, and their public JSON form."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select

from daemon.domain.evaluation import Outcome, Terms
from daemon.domain.payments import Transfer, TransferKey
from daemon.domain.states import OrderException, OrderStatus
from daemon.services import json_codec
from daemon.services.order_options import AddressRecord, Counting, OptionRecord, with_options
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
    chain: str

    @classmethod
    def from_row(cls, row: Row[Any]) -> TransferRecord:
        return cls(
            seq=row.seq,
            asset=row.asset,
            chain=row.chain,
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
    # None on an order with several options (see daemon/services/order_options.py)
    chain: str | None
    asset: str | None
    decimals: int | None
    amount_base: int | None
    address: str | None
    derivation_index: int | None
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
    checkout_token: str = ""  # the checkout page's /pay/{token}
    redirect_url: str | None = None  # where the page sends the customer once paid
    price_minor: int | None = None  # priced in fiat: minor units of price_currency
    price_currency: str | None = None
    options: tuple[OptionRecord, ...] = ()  # priced in fiat (see with_options)
    addresses: tuple[AddressRecord, ...] = ()  # several options: one per chain

    @property
    def single(self) -> bool:
        """One option: chain, asset, amount and address are the order's own."""
        return self.chain is not None

    @property
    def counting(self) -> Counting | None:
        """How a multi-option order's transfers count (None for a single option)."""
        return None if self.single else Counting(self)

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
            checkout_token=data["checkout_token"],
            redirect_url=data.get("redirect_url"),
            price_minor=data.get("price_minor"),
            price_currency=data.get("price_currency"),
        )

    @property
    def terms(self) -> Terms:
        counting = self.counting
        if counting is not None:
            return counting.terms
        assert self.amount_base is not None
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
    return with_options(conn, [OrderRecord.from_row(row)])[0] if row is not None else None


def load_order_by_token(conn: Connection, token: str) -> OrderRecord | None:
    """The order whose checkout URL ends in ``token`` (daemon.checkout)."""
    row = conn.execute(select(orders).where(orders.c.checkout_token == token)).first()
    return with_options(conn, [OrderRecord.from_row(row)])[0] if row is not None else None
