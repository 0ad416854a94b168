"""The scripts a chain watcher matches against: every order's, forever.

An address belongs to its order for good (a late payment to an old order must
still be found), so the set only grows. It is loaded once and then topped up
with the orders created since; the top-up re-reads a margin of recent rows
because on PostgreSQL a lower ``seq`` can commit after a higher one.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from daemon.storage.tables import orders

# More orders than this in flight (allocated, not yet committed) at one moment
# would be needed to slip past the top-up.
REREAD_MARGIN = 1000


class WatchedScripts:
    def __init__(self, chain: str) -> None:
        self.chain = chain
        self.scripts: set[bytes] = set()
        self._high = 0

    def __len__(self) -> int:
        return len(self.scripts)

    def refresh(self, conn: Connection) -> set[bytes]:
        """Load orders created since the last call; return the scripts that are new."""
        query = select(orders.c.seq, orders.c.script).where(
            orders.c.chain == self.chain, orders.c.seq > self._high - REREAD_MARGIN
        )
        fresh: set[bytes] = set()
        high = self._high
        for seq, script in conn.execute(query):
            high = max(high, seq)
            if script not in self.scripts:
                fresh.add(script)
        self._high = high
        self.scripts |= fresh
        return fresh

    @staticmethod
    def count(conn: Connection, chain: str) -> int:
        query = select(func.count()).select_from(orders).where(orders.c.chain == chain)
        return int(conn.execute(query).scalar_one())
