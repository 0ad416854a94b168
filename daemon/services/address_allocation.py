"""Derivation indexes: each taken once, atomically, never given again; and the gap."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Executable, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite

from chains.base import AddressDeriver, DerivedAddress, KeyFormatError
from daemon.storage.prepared import Prepared
from daemon.storage.tables import address_counters, order_addresses, orders

MAX_INVALID_CHILDREN = 16


def _take_index_statement(dialect: str) -> Executable:
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        dialect_insert(address_counters)
        .values(keyspace=bindparam("keyspace"), next_index=1)
        .on_conflict_do_update(
            index_elements=[address_counters.c.keyspace],
            set_={"next_index": address_counters.c.next_index + 1},
        )
        .returning(address_counters.c.next_index)
    )


TAKE_INDEX = {name: Prepared(_take_index_statement(name)) for name in ("postgresql", "sqlite")}


def allocate_index(conn: Connection, keyspace: str) -> int:
    """Take the next derivation index of a key, atomically (a row lock on PostgreSQL,
    the write lock on SQLite); an index is never handed out twice."""
    statement = TAKE_INDEX[conn.dialect.name]
    return int(statement.scalar(conn, {"keyspace": keyspace})) - 1


def next_address(conn: Connection, deriver: AddressDeriver) -> DerivedAddress:
    """The address at the key's next unused index (in the caller's transaction)."""
    for _ in range(MAX_INVALID_CHILDREN):
        index = allocate_index(conn, deriver.keyspace)
        try:
            return deriver.derive(index)
        except KeyFormatError:
            continue  # BIP-32: this index has no key (odds ~2**-127); take the next
    raise RuntimeError("could not derive an address: the key seems broken")


# The gap of unpaid addresses at the end of a key's sequence: wallets stop scanning
# after ~20 unused addresses in a row (the BIP-44 gap limit). Funds beyond it are
# safe but invisible until the wallet's gap limit is raised, so paywatch warns.


@dataclass(frozen=True, slots=True)
class AddressGap:
    keyspace: str
    next_index: int
    last_paid_index: int | None

    @property
    def unpaid_run(self) -> int:
        """How many addresses at the end of the sequence never received anything."""
        return self.next_index - (
            self.last_paid_index + 1 if self.last_paid_index is not None else 0
        )

    def warning(self, limit: int) -> str | None:
        if self.unpaid_run <= limit:
            return None
        return (
            f"{self.unpaid_run} addresses in a row have received nothing (indexes "
            f"{self.next_index - self.unpaid_run}..{self.next_index - 1}); wallets stop looking "
            f"after {limit}: raise your wallet's gap limit to see payments to later addresses"
        )


def address_gap(conn: Connection, keyspace: str) -> AddressGap:
    next_index = conn.execute(
        select(address_counters.c.next_index).where(address_counters.c.keyspace == keyspace)
    ).scalar()
    a = order_addresses
    paid = [
        conn.execute(
            select(func.max(orders.c.derivation_index)).where(
                orders.c.keyspace == keyspace, orders.c.received_base != 0
            )
        ).scalar(),
        conn.execute(  # multi-option orders' addresses
            select(func.max(a.c.derivation_index))
            .join(orders, orders.c.seq == a.c.order_seq)
            .where(a.c.keyspace == keyspace, orders.c.received_base != 0)
        ).scalar(),
    ]
    last_paid = max((int(i) for i in paid if i is not None), default=None)
    return AddressGap(keyspace, int(next_index or 0), None if last_paid is None else int(last_paid))
