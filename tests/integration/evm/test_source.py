"""EvmSource against a real anvil: native, ERC-20, batch and internal transfers."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Collection

import pytest

from chains.evm.source import EvmSource
from chains.watching import BlockNotFound, Payment, ScannedBlock
from tests.integration.evm.conftest import Contracts, SourceFactory, hex_of, new_address
from tests.support.anvil import ACCOUNTS, Anvil, call_data

ETHER = 10**18


def scan_all(
    loop: asyncio.AbstractEventLoop, source: EvmSource, first: int, watched: Collection[bytes]
) -> list[ScannedBlock]:
    tip = loop.run_until_complete(source.tip())
    return loop.run_until_complete(source.scan(first, tip.height, watched))


def payments_of(blocks: list[ScannedBlock]) -> list[Payment]:
    return [p for b in blocks for p in b.payments]


def test_native_and_token_payments_are_found_and_linked(
    anvil: Anvil, contracts: Contracts, make_source: SourceFactory, loop: asyncio.AbstractEventLoop
) -> None:
    a, b, stranger = new_address(), new_address(), new_address()
    start = anvil.height() + 1
    native_tx = anvil.send(hex_of(a), 3 * ETHER // 2)
    token_tx = anvil.send(
        contracts.token, 0, data=call_data("transfer(address,uint256)", b, 49_990_000)
    )
    anvil.send(hex_of(stranger), ETHER)
    anvil.send(contracts.token, 0, data=call_data("transfer(address,uint256)", stranger, 5))
    source = make_source([anvil.url], tokens={contracts.token.upper().replace("0X", "0x"): "USDC"})
    blocks = scan_all(loop, source, start, {a, b})
    assert [blk.header.height for blk in blocks] == list(range(start, anvil.height() + 1))
    for prev, cur in itertools.pairwise(blocks):
        assert cur.header.parent_hash == prev.header.hash
    found = payments_of(blocks)
    token_log = int(anvil.receipt(token_tx)["logs"][0]["logIndex"], 16)
    assert sorted(found, key=lambda p: p.index) == sorted(
        [
            Payment(native_tx, -1, a, "ETH", 3 * ETHER // 2),
            Payment(token_tx, 0, b, "USDC", 49_990_000, log_index=token_log),
        ],
        key=lambda p: p.index,
    )


def test_one_transaction_paying_several_orders(
    anvil: Anvil, contracts: Contracts, make_source: SourceFactory, loop: asyncio.AbstractEventLoop
) -> None:
    orders = [new_address() for _ in range(3)]
    start = anvil.height() + 1
    amounts = [1_000_000, 2_000_000, 1_000_000]
    # The first order is paid twice in the same transaction: both transfers count.
    receivers = [*orders, orders[0]]
    token_tx = anvil.send(
        contracts.batch,
        0,
        data=call_data(
            "payToken(address,address[],uint256[])", contracts.token, receivers, [*amounts, 7]
        ),
    )
    native_tx = anvil.send(
        contracts.batch,
        6 * ETHER,
        data=call_data("payNative(address[],uint256[])", orders, [ETHER, 2 * ETHER, 3 * ETHER]),
    )
    source = make_source([anvil.url], tokens={contracts.token: "USDC"})
    found = payments_of(scan_all(loop, source, start, set(orders)))
    tokens = [p for p in found if p.asset == "USDC"]
    natives = [p for p in found if p.asset == "ETH"]
    assert {p.tx_hash for p in tokens} == {token_tx}
    assert sorted((p.script, p.amount) for p in tokens) == sorted(
        zip(receivers, [*amounts, 7], strict=True)
    )
    assert sorted(p.index for p in tokens) == [0, 1, 2, 3]  # one key per log, in the tx
    assert source.trace_method == "trace_block"
    assert sorted((p.index, p.script, p.amount) for p in natives) == [
        (-4, orders[2], 3 * ETHER),
        (-3, orders[1], 2 * ETHER),
        (-2, orders[0], ETHER),
    ]
    assert {p.tx_hash for p in natives} == {native_tx}


@pytest.mark.parametrize("trace_api", ["trace_block", "debug_traceBlockByNumber"])
def test_contract_forwarding_native_coin(
    anvil: Anvil,
    contracts: Contracts,
    make_source: SourceFactory,
    loop: asyncio.AbstractEventLoop,
    trace_api: str,
) -> None:
    order = new_address()
    start = anvil.height() + 1
    forwarded = anvil.send(contracts.forwarder, ETHER, data=call_data("forward(address)", order))
    reverted = anvil.send(
        contracts.forwarder,
        ETHER,
        data=call_data("forwardThenRevert(address)", order),
        gas=200_000,
    )
    assert anvil.receipt(reverted)["status"] == "0x0"
    source = make_source([anvil.url], trace_api=trace_api)
    found = payments_of(scan_all(loop, source, start, {order}))
    assert found == [Payment(forwarded, -2, order, "ETH", ETHER)]
    assert anvil.balance(hex_of(order)) == ETHER


def test_without_a_trace_api_internal_transfers_are_left_to_the_balance_check(
    anvil: Anvil, contracts: Contracts, make_source: SourceFactory, loop: asyncio.AbstractEventLoop
) -> None:
    order = new_address()
    start = anvil.height() + 1
    anvil.send(contracts.forwarder, ETHER, data=call_data("forward(address)", order))
    source = make_source([anvil.url], trace_api="none")
    assert payments_of(scan_all(loop, source, start, {order})) == []
    height = anvil.height()
    balances = loop.run_until_complete(source.balances([order, new_address()], height))
    assert list(balances.values()) == [ETHER, 0]
    assert loop.run_until_complete(source.balances([order], start - 1)) == {order: 0}


@pytest.mark.parametrize("trace_api", ["auto", "none"])  # by trace, by receipt
def test_failed_transaction_never_counts(
    anvil: Anvil, make_source: SourceFactory, loop: asyncio.AbstractEventLoop, trace_api: str
) -> None:
    order = new_address()
    # Code that always reverts at the order address: a value transfer to it fails.
    anvil.rpc("anvil_setCode", hex_of(order), "0x5f5ffd")  # PUSH0 PUSH0 REVERT
    start = anvil.height() + 1
    failed = anvil.send(hex_of(order), ETHER, gas=100_000)
    assert anvil.receipt(failed)["status"] == "0x0"
    paid = new_address()
    ok = anvil.send(hex_of(paid), ETHER)
    source = make_source([anvil.url], trace_api=trace_api)
    blocks = scan_all(loop, source, start, {order, paid})
    assert payments_of(blocks) == [Payment(ok, -1, paid, "ETH", ETHER)]


def test_headers_finalized_and_missing_blocks(
    anvil: Anvil, make_source: SourceFactory, loop: asyncio.AbstractEventLoop
) -> None:
    anvil.mine(70)
    source = make_source([anvil.url])
    tip = loop.run_until_complete(source.tip())
    headers = loop.run_until_complete(source.headers([1, 2, tip.height]))
    assert headers[1].parent_hash == headers[0].hash
    assert headers[2] == tip
    finalized = loop.run_until_complete(source.finalized_height())
    assert finalized is not None
    assert 0 <= finalized < tip.height
    with pytest.raises(BlockNotFound):
        loop.run_until_complete(source.scan(tip.height, tip.height + 2, set()))


def test_reorg_moves_and_drops_payments(
    anvil: Anvil, make_source: SourceFactory, loop: asyncio.AbstractEventLoop
) -> None:
    moved, dropped = new_address(), new_address()
    anvil.mine(3)
    start = anvil.height() + 1
    tx = anvil.send(hex_of(moved), ETHER)
    anvil.send(hex_of(dropped), ETHER)
    anvil.mine(2)
    source = make_source([anvil.url])
    before = scan_all(loop, source, start, {moved, dropped})
    assert len(payments_of(before)) == 2
    old_heights = {p.script: b.header.height for b in before for p in b.payments}
    # Replace the last 4 blocks; re-send only the first payment, one block later.
    raw = anvil.rpc("eth_getTransactionByHash", tx)
    replay = {"from": raw["from"], "to": raw["to"], "value": raw["value"], "nonce": raw["nonce"]}
    anvil.rpc("anvil_reorg", 4, [[replay, 1]])
    after = scan_all(loop, source, start, {moved, dropped})
    found = {p.script: (b.header.height, p) for b in after for p in b.payments}
    assert dropped not in found
    assert found[moved][0] == old_heights[moved] + 1
    assert after[0].header.hash != before[0].header.hash


def test_rpc_calls_per_block_do_not_grow_with_watched_addresses(
    anvil: Anvil, contracts: Contracts, make_source: SourceFactory, loop: asyncio.AbstractEventLoop
) -> None:
    start = anvil.height() + 1
    for _ in range(5):
        anvil.send(hex_of(new_address()), 1)
        anvil.send(contracts.token, 0, data=call_data("transfer(address,uint256)", ACCOUNTS[1], 1))
    last = anvil.height()
    sent = []
    for size in (10, 10_000):
        watched = {new_address() for _ in range(size)}
        source = make_source([anvil.url], tokens={contracts.token: "USDC"})
        loop.run_until_complete(source.scan(start, start, watched))  # detects the trace API
        client = source.pool.clients[0]
        before = client.requests_sent
        loop.run_until_complete(source.scan(start, last, watched))
        sent.append(client.requests_sent - before)
    assert sent == [1, 1]  # blocks, logs and traces of the whole range in one batch
