"""EVM RPC economy and catch-up speed of the adapter, on a real anvil.

    python bench/evm_rpc.py [--quick] [--blocks N]

1. Builds blocks on anvil with native and ERC-20 transfers (a few to "order"
   addresses), then scans them with 10, 1,000 and 100,000 watched addresses and
   prints the JSON-RPC calls and HTTP requests per block (target: constant,
   <= 3) beside what per-address polling would need (one ``eth_getBalance``
   plus one ``balanceOf`` per token, per address, per block).
2. Mines a long chain and times the adapter catching up over it (blocks fetched,
   linked and matched per second; target >= 500/s). The engine's figure with
   the SQLite commits is printed by the watcher benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chains.endpoints import EndpointPool
from chains.evm.source import EvmSource, EvmSourceSettings
from chains.jsonrpc import JsonRpcClient
from tests.support.anvil import ACCOUNTS, Anvil, anvil_node, call_data, load_artifact

TARGET_CALLS = 3
TARGET_BLOCKS_PER_S = 500


def make_source(url: str, token: str) -> EvmSource:
    client = JsonRpcClient(url)
    pool = EndpointPool([client], [client.url], block_time=1.0)
    return EvmSource(pool, EvmSourceSettings(native_symbol="ETH", tokens={token: "USDC"}))


def build_blocks(anvil: Anvil, token: str, blocks: int, receivers: list[bytes]) -> tuple[int, int]:
    anvil.rpc("evm_setAutomine", False)
    first = anvil.height() + 1
    rng = random.Random(7)
    for b in range(blocks):
        for i in range(10):
            to = receivers[(b + i) % len(receivers)] if i == 0 else rng.randbytes(20)
            anvil.send("0x" + to.hex(), 10**15, wait=False)
            data = call_data("transfer(address,uint256)", to, 1_000 + i)
            anvil.send(token, 0, data=data, wait=False)
        anvil.mine()
    anvil.rpc("evm_setAutomine", True)
    return first, anvil.height()


async def calls_per_block(url: str, token: str, first: int, last: int, watched: set[bytes]) -> str:
    source = make_source(url, token)
    try:
        await source.scan(first, first, watched)  # detects the trace API once
        client = source.pool.clients[0]
        calls0, requests0 = client.calls_sent, client.requests_sent
        blocks = await source.scan(first, last, watched)
        n = len(blocks)
        matched = sum(len(b.payments) for b in blocks)
        calls = (client.calls_sent - calls0) / n
        requests = (client.requests_sent - requests0) / n
        size = len(watched)
        return (
            f"{size:>7,} watched: {calls:.2f} JSON-RPC calls/block, {requests:.2f} HTTP "
            f"requests/block, {matched} transfers matched | per-address polling: "
            f"{size * 2:,} calls/block"
        )
    finally:
        await source.aclose()


async def catch_up(url: str, token: str, first: int, last: int) -> float:
    source = make_source(url, token)
    watched = {random.randbytes(20) for _ in range(1000)}
    try:
        t0 = time.perf_counter()
        for start in range(first, last + 1, 100):
            await source.scan(start, min(last, start + 99), watched)
        return (last - first + 1) / (time.perf_counter() - t0)
    finally:
        await source.aclose()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small chains")
    parser.add_argument("--blocks", type=int, default=3000, help="blocks to catch up over")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    busy_blocks = 5 if args.quick else 20
    long_chain = 300 if args.quick else args.blocks
    receivers = [random.randbytes(20) for _ in range(4)]
    ok = True
    with anvil_node() as anvil:
        token = anvil.deploy(load_artifact("TestToken"))
        anvil.send(token, 0, data=call_data("mint(address,uint256)", ACCOUNTS[0], 10**15))
        first, last = build_blocks(anvil, token, busy_blocks, receivers)
        print(f"{busy_blocks} blocks of 10 native + 10 ERC-20 transfers each (trace API on)")
        for size in (10, 1_000, 100_000):
            watched = set(receivers) | {random.randbytes(20) for _ in range(size - len(receivers))}
            line = asyncio.run(calls_per_block(anvil.url, token, first, last, watched))
            print(line)
            ok = ok and float(line.split("watched: ")[1].split()[0]) <= TARGET_CALLS
        anvil.mine(long_chain)
        tip = anvil.height()
        rate = asyncio.run(catch_up(anvil.url, token, tip - long_chain + 1, tip))
        print(
            f"catch-up (adapter): {rate:,.0f} blocks/s over {long_chain} blocks "
            f"(target >= {TARGET_BLOCKS_PER_S})"
        )
        ok = ok and rate >= TARGET_BLOCKS_PER_S
    print("within targets" if ok else "MISSED a target")
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
