"""The gap of unpaid addresses at the end of a key's sequence.

Wallets stop scanning after ~20 unused addresses in a row (the BIP-44 gap
limit): funds beyond it are safe but invisible until the wallet's gap limit
is raised. paywatch warns before that happens.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from daemon.storage.tables import address_counters, orders


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
    last_paid = conn.execute(
        select(orders.c.derivation_index)
        .where(orders.c.keyspace == keyspace, orders.c.received_base != 0)
        .order_by(orders.c.derivation_index.desc())
        .limit(1)
    ).scalar()
    return AddressGap(keyspace, int(next_index or 0), None if last_paid is None else int(last_paid))
