"""Reorgs against the watcher engine on the in-memory model chain: confirmations after
a reorg that shortens the chain, and reorgs deeper than the blocks it remembers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from chains.watching import Payment
from daemon.runtime.container import Container
from daemon.services.orders import NewOrder
from daemon.storage.tables import chain_cursors, orders, transfers
from daemon.watching.engine import ChainWatcher, WatcherSettings
from daemon.watching.fork import ForkNotFound
from tests.support.configs import config_yaml
from tests.support.events import event_types
from tests.support.model_chain import ModelChain
from tests.support.watching import temp_container

PRICE = 1000


def make_order(container: Container, ref: str, confirmations: int) -> bytes:
    def create(conn: Any) -> bytes:
        request = NewOrder(
            order_id=ref,
            chain="eth",
            asset="ETH",
            amount_base=str(PRICE),
            confirmations=confirmations,
        )
        view = container.orders.create(conn, request, container.clock()).view
        row = conn.execute(select(orders.c.script).where(orders.c.id == view["id"])).one()
        return bytes(row.script)

    return container.db.write(create)


def new_watcher(container: Container, model: ModelChain, **settings: Any) -> ChainWatcher:
    return ChainWatcher(
        chain="eth",
        source=model,
        db=container.db,
        changes=container.orders.changes,
        clock=container.clock,
        settings=WatcherSettings(start_height=0, **settings),
    )


def pay(model: ModelChain, tx: str, script: bytes, amount: int = PRICE) -> None:
    model.send(tx, [Payment(tx, -1, script, "ETH", amount)])
    model.mine()


def stored(container: Container, tx: str) -> Any:
    with container.db.reading() as conn:
        return conn.execute(select(transfers).where(transfers.c.tx_hash == tx)).one()


def order_row(container: Container, script: bytes) -> Any:
    with container.db.reading() as conn:
        return conn.execute(select(orders).where(orders.c.script == script)).one()


def depth(model: ModelChain, tx: str) -> int:
    """The transfer's depth on the model's best chain (the ground truth)."""
    [(_, height)] = [v for k, v in model.live_payments().items() if k[0] == tx]
    assert height is not None
    return model.blocks[-1].header.height - height + 1


def test_a_shorter_branch_lowers_the_confirmations_below_its_fork() -> None:
    async def scenario() -> None:
        with temp_container(config_yaml) as container:
            model = ModelChain(with_mempool=False)
            paid = make_order(container, "paid", confirmations=3)
            deep = make_order(container, "deep", confirmations=3)
            watcher = new_watcher(container, model)
            await watcher.sync_once()
            pay(model, "bb" * 32, deep)  # block 1
            for _ in range(8):
                model.mine()
            pay(model, "aa" * 32, paid)  # block 10
            model.mine()
            model.mine()
            await watcher.sync_once()  # caught up at block 12: counted to the tip
            assert stored(container, "bb" * 32).confirmations == 12
            assert stored(container, "aa" * 32).confirmations == 3
            assert order_row(container, paid).status == "paid"
            # The new branch replaces the top 2 blocks with 1: both payments stay, below
            # the fork, on a chain one block shorter.
            model.reorg(2, back_to_pool=False)
            model.mine()
            await watcher.sync_once()
            assert watcher.status.reorgs == 1
            for tx in ("aa" * 32, "bb" * 32):
                row = stored(container, tx)
                assert not row.removed
                assert row.confirmations == depth(model, tx), tx
            assert depth(model, "aa" * 32) < 3  # had 3 on the old chain, fewer now
            # The order stays paid (paid -> processing is not a move the table has) but
            # its confirmed total is what the chain shows.
            order = order_row(container, paid)
            assert order.status == "paid"
            assert (order.received_base, order.received_confirmed_base) == (PRICE, 0)
            assert event_types_of(container, paid)[-1] == "order.paid"
            # Mined on: confirmed again, counted on.
            model.mine()
            await watcher.sync_once()
            assert stored(container, "aa" * 32).confirmations == depth(model, "aa" * 32)
            assert order_row(container, paid).received_confirmed_base == PRICE

    asyncio.run(scenario())


def event_types_of(container: Container, script: bytes) -> list[str]:
    from daemon.services.order_records import load_order

    public_id = order_row(container, script).id

    def read(conn: Any) -> list[str]:
        record = load_order(conn, public_id)
        assert record is not None
        return [str(t) for t in event_types(conn, record)]

    return container.db.read(read)


def test_a_reorg_deeper_than_the_remembered_blocks_halts_until_resumed() -> None:
    async def scenario() -> None:
        with temp_container(config_yaml) as container:
            model = ModelChain(with_mempool=False)
            script = make_order(container, "gone", confirmations=1)
            watcher = new_watcher(container, model, keep_blocks=3, batch_size=2)
            await watcher.sync_once()
            pay(model, "cc" * 32, script)  # block 1
            for _ in range(6):
                model.mine()
            await watcher.sync_once()
            assert order_row(container, script).status == "paid"
            # Every block since genesis replaced: nothing stored below the remembered
            # blocks is on the new chain, so where it parts cannot be told.
            model.reorg(7, back_to_pool=False)
            for _ in range(8):
                model.mine()
            with pytest.raises(ForkNotFound, match="paywatch chain resume eth --from"):
                await watcher.sync_once()
            status = watcher.status
            assert status.halted is not None
            assert "halted" in status.halted
            assert not status.in_sync(container.clock())
            assert status.report(container.clock())["halted"] == status.halted
            with pytest.raises(ForkNotFound):  # it stays halted, advancing nothing
                await watcher.sync_once()
            assert stored(container, "cc" * 32).block_height == 1
            with container.db.reading() as conn:
                assert conn.execute(select(chain_cursors.c.height)).scalar_one() == 7
            await watcher.resume_from(0)  # the operator's answer
            await watcher.sync_once()
            assert watcher.status.halted is None
            assert watcher.status.in_sync(container.clock())
            assert stored(container, "cc" * 32).removed
            order = order_row(container, script)
            assert (order.status, order.received_base) == ("pending", 0)
            assert event_types_of(container, script)[-1] == "order.payment_reversed"

    asyncio.run(scenario())
