"""Every address an order can be paid at, on which chain: one query shape for all.

A single-option order's address is on its own row (``orders``); a multi-option
order's, one per chain, in ``order_addresses``. Whoever asks "whose is this script?"
or "which addresses must be watched?" reads this union, so no reader can forget the
second kind. Each row: ``order_seq, chain, script, address, keyspace,
derivation_index, confirmations_required``, plus the order's ``status``,
``created_at`` and ``late_until`` to filter on.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, Subquery, and_, case, func, select, true, union_all

from daemon.storage.tables import order_addresses, orders, transfers


def order_targets(chains: Collection[str] | None = None) -> Subquery:
    """The union as a subquery named ``targets`` (only ``chains``, when given)."""
    a = order_addresses
    single = select(
        orders.c.seq.label("order_seq"),
        orders.c.chain,
        orders.c.script,
        orders.c.address,
        orders.c.keyspace,
        orders.c.derivation_index,
        orders.c.confirmations_required,
        orders.c.status,
        orders.c.created_at,
        orders.c.late_until,
    ).where(orders.c.script.is_not(None), _on(orders.c.chain, chains))
    several = (
        select(
            a.c.order_seq,
            a.c.chain,
            a.c.script,
            a.c.address,
            a.c.keyspace,
            a.c.derivation_index,
            a.c.confirmations_required,
            orders.c.status,
            orders.c.created_at,
            orders.c.late_until,
        )
        .join(orders, orders.c.seq == a.c.order_seq)
        .where(_on(a.c.chain, chains))
    )
    return union_all(single, several).subquery("targets")


def _on(column: ColumnElement[str | None], chains: Collection[str] | None) -> ColumnElement[bool]:
    if chains is None:
        return true()
    return column.in_(sorted(chains))


# A transfer's own address: join ``orders`` on ``transfers.order_seq`` and outer-join
# ``order_addresses`` on TRANSFER_ADDRESS, then read the columns through
# :func:`of_transfer` (the order's own, or its address on the transfer's chain). Index
# lookups both, for the per-transfer queries where a union would be read whole.
TRANSFER_ADDRESS = and_(
    order_addresses.c.order_seq == transfers.c.order_seq,
    order_addresses.c.chain == transfers.c.chain,
)


def of_transfer(name: str) -> ColumnElement[Any]:
    """``name`` (address, script, keyspace, derivation_index, confirmations_required) of
    the transfer's address."""
    if name == "confirmations_required":  # None is a value there (the finalized tag)
        return case(
            (orders.c.script.is_(None), order_addresses.c[name]), else_=orders.c[name]
        ).label(name)
    return func.coalesce(orders.c[name], order_addresses.c[name]).label(name)
