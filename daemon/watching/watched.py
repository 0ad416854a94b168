"""The scripts a chain watcher matches against: every order's, forever (a multi-option
order's addresses, in ``order_addresses``, too; a lazy order's when it is picked).

An address belongs to its order for good (a late payment to an old order must
still be found), so the set only grows. It is loaded once and then topped up
with the orders created since; the top-up re-reads a margin of recent rows
because on PostgreSQL a lower ``seq`` can commit after a higher one.
"""

from __future__ import annotations

from sqlalchemy import Connection, Table, func, select

from daemon.storage.order_targets import order_targets
from daemon.storage.tables import order_addresses, orders

# More orders than this in flight (allocated, not yet committed) at one moment
# would be needed to slip past the top-up.
REREAD_MARGIN = 1000


class WatchedScripts:
    def __init__(self, chain: str) -> None:
        self.chain = chain
        self.scripts: set[bytes] = set()
        self._high = 0
        self._high_several = 0  # the same for multi-option orders' addresses

    def __len__(self) -> int:
        return len(self.scripts)

    def refresh(self, conn: Connection) -> set[bytes]:
        """Load orders created since the last call; return the scripts that are new."""
        fresh: set[bytes] = set()
        self._high = self._top_up(conn, orders, self._high, fresh)
        self._high_several = self._top_up(conn, order_addresses, self._high_several, fresh)
        self.scripts |= fresh
        return fresh

    def _top_up(self, conn: Connection, table: Table, high: int, fresh: set[bytes]) -> int:
        # A range of the primary key, the chain compared here: with the chain in the
        # query, SQLite walks the (chain, script) index over every row of the chain
        # (8 ms a refresh at 100,000 orders, three refreshes a round).
        query = select(table.c.seq, table.c.chain, table.c.script).where(
            table.c.seq > high - REREAD_MARGIN
        )
        for seq, chain, script in conn.execute(query):
            high = max(high, seq)
            if chain == self.chain and script is not None and script not in self.scripts:
                fresh.add(script)
        return high

    @staticmethod
    def count(conn: Connection, chain: str) -> int:
        t = order_targets([chain])
        return int(conn.execute(select(func.count()).select_from(t)).scalar_one())
