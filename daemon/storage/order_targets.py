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

from sqlalchemy import ColumnElement, Subquery, select, true, union_all

from daemon.storage.tables import order_addresses, orders


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
