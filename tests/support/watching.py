"""Daemon containers on throwaway SQLite databases, and chain watchers built on them
the way `paywatch run` builds them (driven step by step with ``sync_once``)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, insert

from chains.watching import BlockHeader
from daemon.config.loading import parse_config
from daemon.runtime.container import Container, build
from daemon.storage.migrations import upgrade
from daemon.storage.tables import chain_blocks, chain_cursors
from daemon.watching.engine import ChainWatcher, WatcherSettings
from daemon.watching.sources import build_source
from tests.support.clock import ManualClock


@contextmanager
def temp_container(config_text: Callable[[str], str]) -> Iterator[Container]:
    """A migrated container whose config is ``config_text(database_url)``; closed and
    deleted afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        text = config_text(f"sqlite:///{Path(tmp) / 'paywatch.db'}")
        container = build(parse_config(text), clock=ManualClock())
        upgrade(container.db.engine)
        try:
            yield container
        finally:
            container.close()


def chain_watcher(container: Container, chain: str, **settings: Any) -> ChainWatcher:
    """The configured chain's watcher, its source built from the config as in the daemon."""
    source = build_source(chain, container.config.chains[chain], container.config.tatum)
    assert source is not None, f"chain {chain} has no source"
    return ChainWatcher(
        chain=chain,
        source=source,
        db=container.db,
        changes=container.orders.changes,
        clock=container.clock,
        settings=WatcherSettings(**settings),
    )


def processed(
    container: Container, chain: str, head: BlockHeader, *, block_row: bool = True
) -> None:
    """Stand in for the watcher having processed up to ``head``: the chain's cursor
    there and, with ``block_row``, the block's row (as the watcher writes them),
    replacing the chain's earlier cursor and block rows."""

    def move(conn: Connection) -> None:
        conn.execute(delete(chain_cursors).where(chain_cursors.c.chain == chain))
        conn.execute(delete(chain_blocks).where(chain_blocks.c.chain == chain))
        now = container.clock()
        conn.execute(
            insert(chain_cursors).values(
                chain=chain, height=head.height, hash=head.hash, updated_at=now
            )
        )
        if block_row:
            conn.execute(
                insert(chain_blocks).values(
                    chain=chain,
                    height=head.height,
                    hash=head.hash,
                    parent_hash=head.parent_hash,
                    timestamp=head.timestamp,
                )
            )

    container.db.write(move)
