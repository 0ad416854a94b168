"""paywatch's hand-written EVM pieces against web3.py and its siblings, side by side.

    python bench/web3_side_by_side.py [--quick] [--blocks N]

In one run, on one real anvil, with the machine-speed loop printed beside the figures:

1. JSON-RPC scan: N blocks (``eth_getBlockByNumber`` with full transactions for each,
   plus one ``eth_getLogs`` per range for the token's ``Transfer`` topic), one batch per
   range of 50 blocks, through paywatch's ``JsonRpcClient`` and through web3's
   ``AsyncWeb3(AsyncHTTPProvider)`` with ``w3.batch_requests()``: blocks/s, HTTP
   requests per block, and the same blocks and logs returned.
2. ``Transfer`` log decoding on the logs of that scan: paywatch's (the receiver's 20
   bytes from the topic, ``int(data, 16)``) against ``eth_abi.decode``; and the whole
   match (``token_payments``) as the watcher runs it.
3. EIP-55 checksums: paywatch's encoder against ``eth_checksum``;
   Keccak-256 of a 64-byte public key: paywatch's raw pycryptodome state, pycryptodome's
   public API and ``eth_keccak``; EVM address derivation with each choice, and
   derivation with coincurve's public API instead of the private combine over the table.
4. WebSocket ``newHeads``: ms from sending ``evm_mine`` until the head arrives, through
   paywatch's ``NewHeads`` and web3's ``WebSocketProvider`` subscription.

Exit status 1 only when the two sides disagree on a result.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import coincurve
import httpx
from eth_abi.abi import decode as abi_decode
from eth_utils.address import to_checksum_address as eth_checksum
from eth_utils.crypto import keccak as eth_keccak
from web3 import AsyncWeb3, WebSocketProvider
from web3.providers.rpc import AsyncHTTPProvider

from bench.machine_speed import report as machine_report
from chains.evm.addresses import checksum_encoder
from chains.evm.deriver import EvmDeriver
from chains.evm.extraction import TRANSFER_TOPIC, token_payments
from chains.evm.keccak import keccak256, keccak256_function
from chains.evm.newheads import NewHeads
from chains.hd.bip32 import ExtendedPublicKey
from chains.hd.child_keys import ChildKeyDeriver
from chains.jsonrpc import JsonRpcClient, RpcError
from tests.support.anvil import ACCOUNTS, Anvil, anvil_node, call_data, load_artifact

RANGE = 50  # blocks per batch: 51 calls, one HTTP request for both clients
ETH_ACCOUNT_XPUB = (  # m/44'/60'/0' of the "abandon ... about" mnemonic (bench/derive.py)
    "xpub6DCoCpSuQZB2jawqnGMEPS63ePKWkwWPH4TU45Q7LPXWuNd8TMtVxRrgjtEshuqpK3md"
    "haWHPFsBngh5GFZaM6si3yZdUsT8ddYM3PwnATt"
)
Row = tuple[str, str, str, str]


def best_rates(runs: dict[str, Callable[[], int]], rounds: int) -> dict[str, float]:
    """Items per second for each run, best of ``rounds``; the runs take turns in each round
    (after one warm-up each), so a minute of slow machine hurts both sides alike."""
    for run in runs.values():
        run()
    best = dict.fromkeys(runs, float("inf"))
    items = dict.fromkeys(runs, 0)
    for _ in range(rounds):
        for name, run in runs.items():
            began = time.perf_counter()
            items[name] = run()
            best[name] = min(best[name], time.perf_counter() - began)
    return {name: items[name] / best[name] for name in runs}


def build_chain(anvil: Anvil, token: str, blocks: int) -> None:
    """``blocks`` blocks of 5 native and 5 ERC-20 transfers each (as bench/evm_rpc.py)."""
    anvil.rpc("evm_setAutomine", False)
    rng = random.Random(16)
    for _ in range(blocks):
        for i in range(5):
            to = rng.randbytes(20)
            anvil.send("0x" + to.hex(), 10**15, wait=False)
            anvil.send(token, 0, data=call_data("transfer(address,uint256)", to, 1 + i), wait=False)
        anvil.mine()
    anvil.rpc("evm_setAutomine", True)


def ranges(first: int, last: int) -> list[tuple[int, int]]:
    return [(lo, min(last, lo + RANGE - 1)) for lo in range(first, last + 1, RANGE)]


def log_filter(token: str, lo: int, hi: int) -> dict[str, Any]:
    return {
        "fromBlock": hex(lo),
        "toBlock": hex(hi),
        "address": [token],
        "topics": [TRANSFER_TOPIC],
    }


async def scan_paywatch(url: str, token: str, first: int, last: int) -> tuple[float, float, Any]:
    client = JsonRpcClient(url)
    try:
        await client.batch([("eth_blockNumber", [])])  # connection warm
        sent = client.requests_sent
        began = time.perf_counter()
        blocks: list[Any] = []
        logs: list[Any] = []
        for lo, hi in ranges(first, last):
            calls: list[tuple[str, Sequence[object]]] = [
                ("eth_getBlockByNumber", [hex(h), True]) for h in range(lo, hi + 1)
            ]
            calls.append(("eth_getLogs", [log_filter(token, lo, hi)]))
            answers: list[Any] = await client.batch(calls)
            if any(isinstance(a, RpcError) for a in answers):
                raise RuntimeError(f"the node refused a call: {answers}")
            blocks += answers[:-1]
            logs += answers[-1]
        seconds = time.perf_counter() - began
        n = last - first + 1
        return n / seconds, (client.requests_sent - sent) / n, (blocks, logs)
    finally:
        await client.aclose()


class CountingHTTPProvider(AsyncHTTPProvider):
    requests = 0

    async def make_request(self, method: Any, params: Any) -> Any:
        self.requests += 1
        return await super().make_request(method, params)

    async def make_batch_request(self, batch_requests: Any) -> Any:
        self.requests += 1
        return await super().make_batch_request(batch_requests)


async def scan_web3(url: str, token: str, first: int, last: int) -> tuple[float, float, Any]:
    provider = CountingHTTPProvider(url)
    w3 = AsyncWeb3(provider)
    try:
        await w3.eth.block_number  # session warm
        sent = provider.requests
        began = time.perf_counter()
        blocks: list[Any] = []
        logs: list[Any] = []
        contract = w3.to_checksum_address(token)
        for lo, hi in ranges(first, last):
            async with w3.batch_requests() as batch:
                for h in range(lo, hi + 1):
                    batch.add(w3.eth.get_block(h, True))
                batch.add(
                    w3.eth.get_logs(
                        {
                            "fromBlock": lo,
                            "toBlock": hi,
                            "address": [contract],
                            "topics": [TRANSFER_TOPIC],
                        }
                    )
                )
                *got, found = await batch.async_execute()
            blocks += got
            logs += found
        seconds = time.perf_counter() - began
        n = last - first + 1
        return n / seconds, (provider.requests - sent) / n, (blocks, logs)
    finally:
        await provider.disconnect()


def same_scan(ours: Any, theirs: Any) -> bool:
    (blocks, logs), (w3_blocks, w3_logs) = ours, theirs
    return (
        [b["hash"] for b in blocks] == ["0x" + b["hash"].hex() for b in w3_blocks]
        and [len(b["transactions"]) for b in blocks] == [len(b["transactions"]) for b in w3_blocks]
        and [(x["transactionHash"], int(x["logIndex"], 16)) for x in logs]
        == [("0x" + x["transactionHash"].hex(), x["logIndex"]) for x in w3_logs]
    )


def decode_rows(logs: list[Any], token: str, rounds: int) -> tuple[list[Row], bool]:
    copies = max(1, 2_000 // max(1, len(logs)))
    sample = logs * copies

    def ours() -> list[tuple[bytes, bytes, int]]:
        return [
            (bytes.fromhex(t[1][-40:]), bytes.fromhex(t[2][-40:]), int(x["data"], 16))
            for x in sample
            for t in (x["topics"],)
        ]

    decode = abi_decode

    def theirs() -> list[tuple[bytes, bytes, int]]:
        out = []
        for x in sample:
            t = x["topics"]
            sender, receiver = decode(["address", "address"], bytes.fromhex(t[1][2:] + t[2][2:]))
            (amount,) = decode(["uint256"], bytes.fromhex(x["data"][2:]))
            out.append((bytes.fromhex(sender[2:]), bytes.fromhex(receiver[2:]), amount))
        return out

    agree = ours() == theirs()
    watched = {bytes.fromhex(x["topics"][2][-40:]) for x in logs}
    tokens = {token.lower(): "USDC"}
    rate = best_rates(
        {
            "ours": lambda: len(ours()),
            "eth-abi": lambda: len(theirs()),
            "match": lambda: len(list(token_payments(sample, tokens, watched))),
        },
        rounds,
    )
    a, b, match = rate["ours"], rate["eth-abi"], rate["match"]
    per_block_ms = 1_000 * 1_000 / b
    return [
        ("Transfer log decoding, logs/s", f"{a:,.0f}", f"{b:,.0f} (eth-abi)", f"{a / b:.1f}x"),
        (
            "  whole match (token_payments), logs/s",
            f"{match:,.0f}",
            f"eth-abi alone: {per_block_ms:.1f} ms per 1,000-log block (target <= 10 ms)",
            "",
        ),
    ], agree


def hash_and_checksum_rows(rounds: int, count: int) -> tuple[list[Row], bool]:
    rng = random.Random(55)
    addresses = [rng.randbytes(20) for _ in range(count)]
    keys = [rng.randbytes(64) for _ in range(count)]
    encode = checksum_encoder()
    agree = [encode(a) for a in addresses] == [eth_checksum(a) for a in addresses]
    fast = keccak256_function()
    agree = agree and all(fast(k) == eth_keccak(k) == keccak256(k) for k in keys[:100])
    to_checksum, lib_keccak = eth_checksum, eth_keccak
    rate = best_rates(
        {
            "ours": lambda: len([encode(a) for a in addresses]),
            "lib": lambda: len([to_checksum(a) for a in addresses]),
            "k_ours": lambda: len([fast(k) for k in keys]),
            "k_pub": lambda: len([keccak256(k) for k in keys]),
            "k_lib": lambda: len([lib_keccak(k) for k in keys]),
        },
        rounds,
    )
    ours, lib, k_ours, k_pub, k_lib = rate.values()
    return [
        (
            "EIP-55 checksum, addresses/s",
            f"{ours:,.0f}",
            f"{lib:,.0f} (eth-utils)",
            f"{ours / lib:.1f}x",
        ),
        (
            "Keccak-256 of a public key, /s",
            f"{k_ours:,.0f} (raw state)",
            f"{k_pub:,.0f} (pycryptodome API), {k_lib:,.0f} (eth-utils)",
            f"{k_ours / k_pub:.1f}x, {k_ours / k_lib:.1f}x",
        ),
    ], agree


class PublicApiChildKeys(ChildKeyDeriver):
    """``parent + tweak*G`` through coincurve's public API (``PublicKey.add``)."""

    __slots__ = ("_public",)

    def __init__(self, parent: ExtendedPublicKey) -> None:
        super().__init__(parent)
        self._public = coincurve.PublicKey(parent.public_key)

    def tweaked_pubkey(self, index: int, tweak: bytes, compressed: bool = True) -> bytes:
        point: bytes = self._public.add(tweak).format(compressed)
        return point


def derivation_rows(rounds: int, count: int) -> tuple[list[Row], bool]:
    account = ExtendedPublicKey.parse(ETH_ACCOUNT_XPUB)

    def deriver(keccak: Any = None, encode: Any = None, public_ec: bool = False) -> EvmDeriver:
        d = EvmDeriver(account)
        if keccak is not None:
            d._keccak = keccak
        if encode is not None:
            d._encode = encode
        if public_ec:
            d._children = PublicApiChildKeys(d.receive_node)
        return d

    variants = {
        "ours": deriver(),
        "eth-utils": deriver(eth_keccak, eth_checksum),
        "public keccak": deriver(keccak256),
        "public EC": deriver(public_ec=True),
    }
    start = iter(range(10_000, 10**9, count))
    expected = [a.address for a in variants["ours"].derive_many(0, 50)]
    agree = all([a.address for a in d.derive_many(0, 50)] == expected for d in variants.values())
    rate = best_rates(
        {
            name: lambda d=d: len(d.derive_many(next(start), count))  # type: ignore[misc]
            for name, d in variants.items()
        },
        rounds,
    )
    ours = rate["ours"]
    return [
        (
            "EVM address derivation, /s (target 20,000)",
            f"{ours:,.0f}",
            f"{rate['eth-utils']:,.0f} (eth-utils keccak + checksum)",
            f"{ours / rate['eth-utils']:.1f}x",
        ),
        ("  with pycryptodome's public keccak", "", f"{rate['public keccak']:,.0f}", ""),
        (
            "  with coincurve's public PublicKey.add",
            "",
            f"{rate['public EC']:,.0f}",
            f"{ours / rate['public EC']:.1f}x",
        ),
    ], agree


async def mine(http: httpx.AsyncClient, url: str) -> None:
    await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "evm_mine", "params": []})


async def arrival(began: float, head: Any) -> float:
    await asyncio.wait_for(head, 5.0)
    return (time.perf_counter() - began) * 1_000


async def heads_side_by_side(anvil: Anvil, samples: int) -> tuple[list[float], list[float]]:
    """Both subscribed on one loop; each ``evm_mine`` timed until each side has the head."""
    heads = NewHeads(anvil.ws_url, poll_interval=5.0)
    ours: list[float] = []
    theirs: list[float] = []
    async with httpx.AsyncClient() as http, AsyncWeb3(WebSocketProvider(anvil.ws_url)) as w3:
        try:
            await w3.eth.subscribe("newHeads")
            stream = w3.socket.process_subscriptions().__aiter__()
            while not heads.connected:
                await heads.wait(0.2)
            await heads.wait(0.05)  # the wake a (re)connect gives
            for i in range(samples):
                began = time.perf_counter()
                # Alternate which side is awaited first, so neither always goes first.
                waits = [arrival(began, heads.wait(5.0)), arrival(began, stream.__anext__())]
                if i % 2:
                    waits.reverse()
                _, times = await asyncio.gather(mine(http, anvil.url), asyncio.gather(*waits))
                a, b = times if i % 2 == 0 else times[::-1]
                ours.append(a)
                theirs.append(b)
                await asyncio.sleep(0.01)
        finally:
            await heads.aclose()
    return ours, theirs


def import_cost(module: str) -> str:
    """Seconds and modules to import ``module`` in a fresh interpreter (daemon start-up)."""
    code = (
        "import sys, time; n = len(sys.modules); t = time.perf_counter(); "
        f"import {module}; print(f'{{time.perf_counter() - t:.2f}} s, "
        "{len(sys.modules) - n} modules')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def pin_to_one_cpu() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


def percentiles(ms: list[float]) -> str:
    p95 = statistics.quantiles(ms, n=20)[-1] if len(ms) >= 2 else ms[0]
    return f"p50 {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small chain, few rounds")
    parser.add_argument("--blocks", type=int, default=500)
    args = parser.parse_args()
    blocks = 50 if args.quick else args.blocks
    rounds = 2 if args.quick else 5
    count = 2_000 if args.quick else 20_000
    samples = 10 if args.quick else 100
    rows: list[Row] = []
    ok = True
    print(f"{machine_report()} ({pin_to_one_cpu()}; anvil runs on its own)")
    with anvil_node() as anvil:
        token = anvil.deploy(load_artifact("TestToken"))
        anvil.send(token, 0, data=call_data("mint(address,uint256)", ACCOUNTS[0], 10**15))
        first = anvil.height() + 1
        build_chain(anvil, token, blocks)
        last = anvil.height()
        print(f"chain: {blocks} blocks of 5 native + 5 ERC-20 transfers, {RANGE} per batch")
        best: dict[str, tuple[float, float, Any]] = {}
        for _ in range(rounds):
            for name, scan in (("paywatch", scan_paywatch), ("web3", scan_web3)):
                got = asyncio.run(scan(anvil.url, token, first, last))
                if name not in best or got[0] > best[name][0]:
                    best[name] = got
        (a, a_req, ours), (b, b_req, theirs) = best["paywatch"], best["web3"]
        ok = ok and same_scan(ours, theirs)
        rows.append(("JSON-RPC scan, blocks/s", f"{a:,.0f}", f"{b:,.0f} (web3)", f"{a / b:.1f}x"))
        rows.append(("  HTTP requests per block", f"{a_req:.2f}", f"{b_req:.2f}", ""))
        decoded, agree = decode_rows(ours[1], token, rounds)
        rows += decoded
        ok = ok and agree
        hashed, agree = hash_and_checksum_rows(rounds, count)
        rows += hashed
        ok = ok and agree
        derived, agree = derivation_rows(rounds, count)
        rows += derived
        ok = ok and agree
        ws_ours, ws_web3 = asyncio.run(heads_side_by_side(anvil, samples))
        rows.append(
            (
                "newHeads, evm_mine -> head",
                percentiles(ws_ours),
                percentiles(ws_web3) + " (web3)",
                "",
            )
        )
    rows.append(("import, fresh interpreter", import_cost("websockets"), import_cost("web3"), ""))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    print(
        " | ".join(
            h.ljust(w) for h, w in zip(("", "paywatch", "library", "ours/lib"), widths, strict=True)
        )
    )
    for row in rows:
        print(" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    print("same results on both sides" if ok else "the two sides DISAGREE")
    print(machine_report())
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
