"""The watcher engine against random chain histories: payments, mining, reorgs, RBF
drops, a node that goes down and crashes between fetching and committing.

Whatever happened, after the watcher catches up the database holds exactly the
payments on the node's best chain (and in its mempool), none twice, with the right
confirmations and order totals. The chain is an in-memory model
(tests/support/model_chain.py); the adapters are tested against real nodes.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractContextManager, suppress
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from chains.watching import ChainUnavailable, Payment
from daemon.runtime.container import Container
from daemon.services.orders import NewOrder
from daemon.storage.tables import chain_cursors, orders, transfers
from daemon.watching.effects import Effects
from daemon.watching.engine import ChainWatcher, WatcherSettings
from tests.support.configs import config_yaml
from tests.support.model_chain import ModelChain
from tests.support.watching import temp_container

REQUIRED = 2  # confirmations asked by every order here
PRICE = 1000


def fresh_container() -> AbstractContextManager[Container]:
    return temp_container(config_yaml)


def make_orders(container: Container, chain: str, asset: str, count: int) -> list[bytes]:
    def create(conn: Any) -> list[bytes]:
        for i in range(count):
            request = NewOrder(
                order_id=f"o{i}",
                chain=chain,
                asset=asset,
                amount_base=str(PRICE),
                confirmations=REQUIRED,
            )
            container.orders.create(conn, request, container.clock())
        rows = conn.execute(select(orders.c.script).where(orders.c.chain == chain))
        return [row.script for row in rows]

    return container.db.write(create)


class CrashAfterWork(Exception):
    pass


def crashing(real: Effects) -> Effects:
    """Effects whose batch transaction fails after doing all its work (rolled back)."""

    class Crashing(Effects):
        def apply_batch(self, conn: Any, batch: Any, now: Any) -> int:
            real.apply_batch(conn, batch, now)
            raise CrashAfterWork

    return Crashing(real.chain, real.changes, keep_blocks=real.keep_blocks)


operations = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), st.integers(0, 2), st.integers(1, 1500), st.integers(1, 2)),
        st.tuples(st.just("mine")),
        st.tuples(st.just("mine")),
        st.tuples(st.just("reorg"), st.integers(1, 4)),
        st.tuples(st.just("drop")),
        st.tuples(st.just("sync")),
        st.tuples(st.just("sync")),
        st.tuples(st.just("down")),
        st.tuples(st.just("crash")),
    ),
    max_size=40,
)


async def play(chain_kind: str, ops: list[tuple[Any, ...]]) -> None:
    with_mempool = chain_kind == "btc"
    asset = "BTC" if with_mempool else "ETH"
    with fresh_container() as container:
        scripts = make_orders(container, chain_kind, asset, 3)
        model = ModelChain(with_mempool=with_mempool)
        watcher = ChainWatcher(
            chain=chain_kind,
            source=model,
            db=container.db,
            changes=container.orders.changes,
            clock=container.clock,
            settings=WatcherSettings(batch_size=3, keep_blocks=30, start_height=0),
        )
        tx_count = 0
        for op in ops:
            if op[0] == "pay":
                _, who, amount, outputs = op
                tx_count += 1
                tx = f"{tx_count:064x}"
                model.send(
                    tx,
                    [Payment(tx, i, scripts[who], asset, amount) for i in range(outputs)],
                )
            elif op[0] == "mine":
                model.mine()
            elif op[0] == "reorg":
                model.reorg(op[1], back_to_pool=with_mempool)
                model.mine()  # the new branch: dropped txs may come back in it
            elif op[0] == "drop" and model.pool:
                model.pool.pop(next(iter(model.pool)))  # replaced (RBF) or evicted
            elif op[0] == "down":
                model.failing = True
                with pytest.raises(ChainUnavailable):
                    await watcher.sync_once()
                model.failing = False
            elif op[0] == "crash":
                real, watcher.effects = watcher.effects, crashing(watcher.effects)
                with suppress(CrashAfterWork):
                    await watcher.sync_once()
                watcher.effects = real
            elif op[0] == "sync":
                await watcher.sync_once()
        # Restart: a new watcher on the same database must converge.
        watcher = ChainWatcher(
            chain=chain_kind,
            source=model,
            db=container.db,
            changes=container.orders.changes,
            clock=container.clock,
            settings=WatcherSettings(batch_size=3, keep_blocks=30, start_height=0),
        )
        await watcher.sync_once()
        await watcher.sync_once()
        check(container, model, chain_kind, scripts)


def check(container: Container, model: ModelChain, chain: str, scripts: list[bytes]) -> None:
    tip = model.blocks[-1].header
    live = model.live_payments()
    with container.db.reading() as conn:
        cursor = conn.execute(select(chain_cursors).where(chain_cursors.c.chain == chain)).one()
        stored = conn.execute(
            select(transfers, orders.c.script).join(orders, orders.c.seq == transfers.c.order_seq)
        ).all()
        order_rows = conn.execute(select(orders).where(orders.c.chain == chain)).all()
    assert (cursor.height, cursor.hash) == (tip.height, tip.hash)
    seen = {(row.tx_hash, row.output_index): row for row in stored}
    assert len(seen) == len(stored)
    for key, (payment, height) in live.items():
        row = seen[key]  # never missed
        assert not row.removed
        assert row.script == payment.script
        assert row.amount_base == payment.amount
        assert row.block_height == height
        if height is None:
            assert row.confirmations == 0
        else:
            depth = tip.height - height + 1
            assert row.confirmations == depth if depth < REQUIRED else row.confirmations >= REQUIRED
    for key, row in seen.items():
        if key not in live:
            assert row.removed, f"{key} is gone from the chain but still counted"
    for order in order_rows:
        mine = [(p, h) for p, h in live.values() if p.script == order.script]
        assert order.received_base == sum(p.amount for p, _ in mine)
        confirmed = sum(
            p.amount for p, h in mine if h is not None and tip.height - h + 1 >= REQUIRED
        )
        assert order.received_confirmed_base == confirmed


@pytest.mark.parametrize("chain_kind", ["btc", "eth"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=operations)
def test_the_database_follows_the_best_chain(chain_kind: str, ops: list[tuple[Any, ...]]) -> None:
    asyncio.run(play(chain_kind, ops))


def event_types(container: Container) -> list[str]:
    from daemon.storage.tables import events

    with container.db.reading() as conn:
        return [row.type for row in conn.execute(select(events.c.type).order_by(events.c.seq))]


async def one_order_chain(container: Container) -> tuple[ModelChain, ChainWatcher, bytes]:
    [script] = make_orders(container, "eth", "ETH", 1)
    model = ModelChain(with_mempool=False)
    watcher = ChainWatcher(
        chain="eth",
        source=model,
        db=container.db,
        changes=container.orders.changes,
        clock=container.clock,
        settings=WatcherSettings(start_height=0),
    )
    await watcher.sync_once()
    return model, watcher, script


def test_a_payment_moved_to_another_block_fires_nothing_new() -> None:
    async def scenario() -> None:
        with fresh_container() as container:
            model, watcher, script = await one_order_chain(container)
            model.send("aa" * 32, [Payment("aa" * 32, -1, script, "ETH", PRICE)])
            model.mine()
            model.mine()
            await watcher.sync_once()
            before = event_types(container)
            assert before[-1] == "order.paid"
            # The two blocks are replaced by three; the payment is in the second.
            model.reorg(2, back_to_pool=False)
            model.mine()
            model.send("aa" * 32, [Payment("aa" * 32, -1, script, "ETH", PRICE)])
            model.mine()
            model.mine()
            await watcher.sync_once()
            assert event_types(container) == before
            assert watcher.status.reorgs == 1

    asyncio.run(scenario())


def test_a_payment_dropped_by_a_reorg_is_reported_reversed() -> None:
    async def scenario() -> None:
        with fresh_container() as container:
            model, watcher, script = await one_order_chain(container)
            model.send("bb" * 32, [Payment("bb" * 32, -1, script, "ETH", PRICE)])
            model.mine()
            model.mine()
            await watcher.sync_once()
            model.reorg(2, back_to_pool=False)
            model.mine()
            model.mine()
            model.mine()
            await watcher.sync_once()
            types = event_types(container)
            assert types[-1] == "order.payment_reversed"
            with container.db.reading() as conn:
                order = conn.execute(select(orders)).one()
                row = conn.execute(select(transfers)).one()
            assert row.removed
            assert order.received_base == 0
            assert order.status == "pending"

    asyncio.run(scenario())
