"""The options of an order priced in fiat: stored, loaded, and counted.

An order priced in fiat has one row per option in ``order_options`` (asset, amount due,
locked rate). With one option it is otherwise a plain order (its chain, asset, amount
due and address on the order row). With several, its addresses are in
``order_addresses``, one per chain, and its payments are counted in the price currency:
each transfer as its share of the option it pays (see :mod:`daemon.domain.pricing`),
judged confirmed by its own chain's depth.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, select

from daemon.domain.evaluation import Outcome, Terms
from daemon.domain.payments import Transfer, TransferKey
from daemon.domain.pricing import common_unit, in_common_unit, value_minor
from daemon.domain.states import OrderException
from daemon.storage.prepared import Prepared
from daemon.storage.tables import order_addresses, order_options

if TYPE_CHECKING:
    from daemon.services.order_records import OrderRecord, TransferRecord


@dataclass(frozen=True, slots=True)
class OptionRecord:
    chain: str
    asset: str
    decimals: int
    amount_base: int  # due: the price at the rate, rounded up to the base unit
    rate: Decimal  # units of the price currency per one unit of the asset
    sources: tuple[str, ...]
    rate_at: datetime
    confirmations_required: int | None  # on its chain; None: the finalized tag

    def row(self, order_seq: int, position: int) -> dict[str, Any]:
        return {
            "order_seq": order_seq,
            "position": position,
            "chain": self.chain,
            "asset": self.asset,
            "decimals": self.decimals,
            "amount_base": self.amount_base,
            "rate_value": format(self.rate, "f"),
            "rate_sources": ",".join(self.sources),
            "rate_at": self.rate_at,
            "confirmations_required": self.confirmations_required,
        }


@dataclass(frozen=True, slots=True)
class AddressRecord:
    """A multi-option order's address on one chain."""

    chain: str
    address: str
    script: bytes
    keyspace: str
    derivation_index: int
    confirmations_required: int | None  # None: the chain's finalized tag

    def row(self, order_seq: int) -> dict[str, Any]:
        return {"order_seq": order_seq, **{f: getattr(self, f) for f in self.__slots__}}


INSERT_OPTION = Prepared(insert(order_options))
INSERT_ADDRESS = Prepared(insert(order_addresses))


def load_options(
    conn: Connection, seqs: Sequence[int]
) -> tuple[dict[int, list[OptionRecord]], dict[int, list[AddressRecord]]]:
    """The options and addresses of these (fiat-priced) orders, by order seq."""
    options: dict[int, list[OptionRecord]] = {}
    addresses: dict[int, list[AddressRecord]] = {}
    for start in range(0, len(seqs), 500):
        chunk = list(seqs[start : start + 500])
        rows = conn.execute(
            select(order_options)
            .where(order_options.c.order_seq.in_(chunk))
            .order_by(order_options.c.order_seq, order_options.c.position)
        )
        for r in rows:
            options.setdefault(r.order_seq, []).append(
                OptionRecord(
                    r.chain,
                    r.asset,
                    r.decimals,
                    r.amount_base,
                    Decimal(r.rate_value),
                    tuple(r.rate_sources.split(",")),
                    r.rate_at,
                    r.confirmations_required,
                )
            )
        query = select(order_addresses).where(order_addresses.c.order_seq.in_(chunk))
        for r in conn.execute(query.order_by(order_addresses.c.seq)):
            addresses.setdefault(r.order_seq, []).append(
                AddressRecord(
                    r.chain,
                    r.address,
                    r.script,
                    r.keyspace,
                    r.derivation_index,
                    r.confirmations_required,
                )
            )
    return options, addresses


def with_options(conn: Connection, records: Iterable[OrderRecord]) -> list[OrderRecord]:
    """``records`` with the options and addresses of those priced in fiat attached."""
    found = list(records)
    priced = [o.seq for o in found if o.price_currency is not None]
    if not priced:
        return found
    options, addresses = load_options(conn, priced)
    return [
        replace(o, options=tuple(options.get(o.seq, ())), addresses=tuple(addresses.get(o.seq, ())))
        if o.price_currency is not None
        else o
        for o in found
    ]


class Counting:
    """How a multi-option order's transfers count: each in the common unit of the
    order's options, confirmed by its own chain's depth. The domain then judges them
    with the same rules as any order (``Terms.amount_due`` is the common unit)."""

    def __init__(self, order: OrderRecord) -> None:
        self.order = order
        self.due = {(o.chain, o.asset): o.amount_base for o in order.options}
        self.unit = common_unit(self.due.values())
        self.depth = {a.chain: a.confirmations_required for a in order.addresses}

    @property
    def terms(self) -> Terms:
        o = self.order
        # Confirmations are judged per chain below; a counted transfer is confirmed
        # when it carries one.
        return Terms(self.unit, o.expires_at, o.late_until, 1, o.tolerance_ppm)

    def counts(self, record: TransferRecord) -> bool:
        return (record.chain, record.asset) in self.due

    def confirmed(self, record: TransferRecord) -> bool:
        t = record.transfer
        if t.removed:
            return False
        if record.chain not in self.depth:
            return False
        depth = self.depth[record.chain]
        return t.finalized or (depth is not None and t.confirmations >= depth)

    def counted(self, record: TransferRecord) -> Transfer:
        t = record.transfer
        parts = in_common_unit(t.amount, self.due[(record.chain, record.asset)], self.unit)
        return replace(t, amount=parts, confirmations=int(self.confirmed(record)), finalized=False)

    def transfers(self, records: Iterable[TransferRecord]) -> dict[TransferKey, Transfer]:
        return {r.transfer.key: self.counted(r) for r in records if self.counts(r)}

    def stored(self, outcome: Outcome) -> Outcome:
        """The outcome as the order row keeps it: received in minor units, rounded down.

        Overpaid is judged in the price currency too: paying part in one coin and the
        rest in another, each rounded up to its base unit, comes to a fraction of a cent
        over the price, which is the price paid, not an overpayment."""
        price = self.order.price_minor
        assert price is not None
        received = value_minor(outcome.received, self.unit, price)
        exception = outcome.exception
        if exception is OrderException.OVERPAID and received <= price:
            exception = OrderException.NONE
        return replace(
            outcome,
            exception=exception,
            received=received,
            received_confirmed=value_minor(outcome.received_confirmed, self.unit, price),
        )
