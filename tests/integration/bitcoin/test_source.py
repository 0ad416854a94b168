"""BitcoinSource against a real litecoind regtest node (Bitcoin Core's RPC)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from chains.watching import BlockNotFound, ChainUnavailable, Payment
from tests.integration.bitcoin.conftest import OUTPUT_TYPES, deriver
from tests.support.litecoind import Litecoind, litecoind_node, source_for

SAT = Decimal(100_000_000)


def sats(amount: str) -> int:
    return int(Decimal(amount) * SAT)


def node_outputs(node: Litecoind, txid: str) -> list[tuple[int, bytes, int]]:
    """(vout, script, value) of a transaction as the node decodes it (values exact)."""
    raw = node.rpc("getrawtransaction", txid, False)
    decoded = node.rpc("decoderawtransaction", raw)
    return [
        (o["n"], bytes.fromhex(o["scriptPubKey"]["hex"]), sats(str(o["value"])))
        for o in decoded["vout"]
    ]


def test_every_output_type_is_found_by_script(node: Litecoind) -> None:
    addresses = {kind: deriver(kind).derive(3) for kind in OUTPUT_TYPES}
    amounts = {"p2pkh": "0.1", "p2sh-p2wpkh": "0.2", "p2wpkh": "0.30000001", "p2tr": "0.4"}
    txids = {kind: node.send(addresses[kind].address, amounts[kind]) for kind in OUTPUT_TYPES}
    (block_hash,) = node.mine(1)
    height = node.height()
    watched = {a.script for a in addresses.values()}

    async def go() -> None:
        async with source_for(node) as source:
            (block,) = await source.scan(height, height, watched)
            assert block.header.hash == block_hash
            assert block.header.height == height
            assert block.header.parent_hash == node.block_hash(height - 1)
            found = {p.script: p for p in block.payments}
            assert len(block.payments) == 4
            for kind, address in addresses.items():
                payment = found[address.script]
                assert payment.tx_hash == txids[kind]
                assert payment.amount == sats(amounts[kind])
                assert payment.asset == "LTC"
                _vout, script, value = node_outputs(node, txids[kind])[payment.index]
                assert (script, value) == (address.script, payment.amount)

    asyncio.run(go())


def test_sendmany_pays_several_orders_in_one_transaction(node: Litecoind) -> None:
    orders = deriver("p2wpkh").derive_many(10, 3)
    other = deriver("p2tr").derive(10)
    amounts = {orders[0].address: "0.011", orders[1].address: "0.022", other.address: "0.033"}
    txid = node.send_many(amounts)
    node.mine(1)
    height = node.height()
    watched = {o.script for o in orders} | {other.script}

    async def go() -> list[Payment]:
        async with source_for(node) as source:
            (block,) = await source.scan(height, height, watched)
            return list(block.payments)

    payments = asyncio.run(go())
    assert {p.tx_hash for p in payments} == {txid}
    assert len({(p.tx_hash, p.index) for p in payments}) == 3
    expected = {(i, s, v) for i, s, v in node_outputs(node, txid) if s in watched}
    assert {(p.index, p.script, p.amount) for p in payments} == expected
    assert sorted(p.amount for p in payments) == [sats("0.011"), sats("0.022"), sats("0.033")]


def test_scan_links_blocks_and_reads_headers_in_batches(node: Litecoind) -> None:
    hashes = node.mine(20)
    top = node.height()

    async def go() -> None:
        async with source_for(node, blocks_per_request=3) as source:
            blocks = await source.scan(top - 19, top, set())
            assert [b.header.hash for b in blocks] == hashes
            headers = await source.headers([top - 19, top])
            assert [h.hash for h in headers] == [hashes[0], hashes[-1]]
            tip = await source.tip()
            assert (tip.height, tip.hash) == (top, hashes[-1])
            assert await source.finalized_height() is None
            with pytest.raises(BlockNotFound):
                await source.scan(top + 1, top + 2, set())
            with pytest.raises(BlockNotFound):
                await source.headers([top + 5])

    asyncio.run(go())


def test_mempool_sees_payments_and_fetches_each_transaction_once(node: Litecoind) -> None:
    target = deriver("p2sh-p2wpkh").derive(20)
    node.mine(1)

    async def go() -> None:
        async with source_for(node) as source:
            watched = {target.script}
            empty = await source.mempool(watched)
            assert empty.payments == ()
            txid = node.send(target.address, "0.5")
            node.send(node.new_address(), "0.1")  # someone else's
            view = await source.mempool(watched)
            assert txid in view.txids
            assert len(view.txids) == 2
            (payment,) = view.payments
            assert (payment.tx_hash, payment.script, payment.amount) == (
                txid,
                target.script,
                sats("0.5"),
            )
            rpc = source._nodes[0]
            before = rpc.requests_sent
            again = await source.mempool(watched)
            assert again == view
            assert rpc.requests_sent - before == 1  # getrawmempool only: nothing re-fetched
            # A script watched later is matched against the cached transactions too.
            later = deriver("p2sh-p2wpkh").derive(21)
            txid2 = node.send(later.address, "0.25")
            grown = await source.mempool({target.script, later.script})
            assert {p.tx_hash for p in grown.payments} == {txid, txid2}
            node.mine(1)
            mined = await source.mempool(watched)
            assert mined.txids == frozenset()
            assert mined.payments == ()

    asyncio.run(go())


def test_bumpfee_replaces_the_mempool_transaction(node: Litecoind) -> None:
    target = deriver("p2wpkh").derive(30)

    async def go() -> None:
        async with source_for(node) as source:
            txid = node.send(target.address, "0.3")
            first = await source.mempool({target.script})
            assert [p.tx_hash for p in first.payments] == [txid]
            bumped = node.bump_fee(txid)
            second = await source.mempool({target.script})
            assert txid not in second.txids
            assert [p.tx_hash for p in second.payments] == [bumped]
            redirected = node.redirect(bumped, node.new_address())
            third = await source.mempool({target.script})
            assert redirected in third.txids
            assert bumped not in third.txids
            assert third.payments == ()
            node.mine(1)

    asyncio.run(go())


def test_invalidated_block_drops_then_remines_a_payment(node: Litecoind) -> None:
    target = deriver("p2tr").derive(40)
    txid = node.send(target.address, "0.7")
    (old_hash,) = node.mine(1)
    height = node.height()

    async def go() -> None:
        async with source_for(node) as source:
            watched = {target.script}
            (block,) = await source.scan(height, height, watched)
            assert [p.tx_hash for p in block.payments] == [txid]
            node.invalidate(old_hash)
            assert (await source.tip()).height == height - 1
            with pytest.raises(BlockNotFound):
                await source.scan(height, height, watched)
            view = await source.mempool(watched)  # back in the mempool
            assert [p.tx_hash for p in view.payments] == [txid]
            (new_hash,) = node.mine(1, node.new_address())
            (block,) = await source.scan(height, height, watched)
            assert block.header.hash == new_hash != old_hash
            assert [p.tx_hash for p in block.payments] == [txid]

    asyncio.run(go())


def test_node_stopped_and_restarted_with_a_new_cookie() -> None:
    with litecoind_node(cookie=True) as node:
        node.mine(1)
        target = deriver("p2wpkh").derive(50)

        async def go() -> None:
            async with source_for(node) as source:
                tip = await source.tip()
                assert source.health()[0].healthy
                node.stop()
                with pytest.raises(ChainUnavailable):
                    await source.tip()
                assert not source.health()[0].healthy
                node.start()  # a new cookie: the source reads it again
                node.mine(101)
                txid = node.send(target.address, "1.5")
                node.mine(1)
                after = await source.tip()
                assert after.height == tip.height + 102
                (block,) = await source.scan(after.height, after.height, {target.script})
                assert [p.tx_hash for p in block.payments] == [txid]
                assert source.health()[0].healthy

        asyncio.run(go())


def test_initial_block_download_is_reported() -> None:
    with litecoind_node() as node:

        async def go() -> None:
            async with source_for(node) as source:
                await source.tip()  # a fresh regtest chain: still in initial download
                (health,) = source.health()
                assert not health.healthy
                assert health.extra["initialblockdownload"] == "true"
                assert "initial block download" in (health.error or "")
                node.mine(1)
                await source.tip()
                (health,) = source.health()
                assert health.healthy, health
                assert health.head_height == 1

        asyncio.run(go())
