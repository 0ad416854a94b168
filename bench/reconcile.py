"""``paywatch reconcile`` over many credited transfers on a real anvil.

    python bench/reconcile.py [--quick] [--transfers N]

N orders are paid (9 in 10 with USDC, 100 receivers per BatchPay transaction; 1 in
10 with ETH sent from inside BatchPay.payNative, internal transfers read back through
the node's trace), the watcher credits them once, and then every credited transfer is
read back from the node (daemon/accounting/reconcile.py over chains/evm/reconcile.py):
transfers/s and JSON-RPC calls per transfer (target: >= 1,000 transfers/s, <= 0.5
calls per transfer), every one found as booked.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import machine_speed
from daemon.accounting.reconcile import reconcile
from daemon.accounting.reconcile_job import reconciler_for
from tests.integration.evm.watching import evm_container, order, watcher
from tests.support.anvil import ACCOUNTS, Anvil, anvil_node, call_data, load_artifact
from tests.support.single import address_of

TARGET_RATE = 1_000
TARGET_CALLS = 0.5
PER_TX = 100


def pay_in_batches(
    anvil: Anvil, token: str, batch: str, tokens: list[str], natives: list[str]
) -> None:
    """USDC through BatchPay.payToken and ETH through payNative, PER_TX receivers each."""
    anvil.rpc("evm_setAutomine", False)
    for i in range(0, len(tokens), PER_TX):
        part = tokens[i : i + PER_TX]
        data = call_data("payToken(address,address[],uint256[])", token, part, [10**6] * len(part))
        anvil.send(batch, 0, data=data, gas=6_000_000, wait=False)
        anvil.mine()
    for i in range(0, len(natives), PER_TX):
        part = natives[i : i + PER_TX]
        amounts = [10**15] * len(part)
        data = call_data("payNative(address[],uint256[])", part, amounts)
        anvil.send(batch, sum(amounts), data=data, gas=6_000_000, wait=False)
        anvil.mine()
    anvil.rpc("evm_setAutomine", True)
    anvil.mine(2)


def pay_one_by_one(anvil: Anvil, addresses: list[str]) -> None:
    """One ETH transaction per address, PER_TX to a block."""
    anvil.rpc("evm_setAutomine", False)
    for i, address in enumerate(addresses):
        anvil.send(address, 10**15, wait=False)
        if i % PER_TX == PER_TX - 1:
            anvil.mine()
    anvil.rpc("evm_setAutomine", True)
    anvil.mine(2)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--transfers", type=int, default=10_000)
    parser.add_argument("--singles", type=int, default=1_000)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    n = 400 if args.quick else args.transfers
    n_native = n // 10
    n_singles = 100 if args.quick else args.singles
    with anvil_node() as anvil:
        token = anvil.deploy(load_artifact("TestToken"))
        batch = anvil.deploy(load_artifact("BatchPay"))
        anvil.send(token, 0, data=call_data("mint(address,uint256)", ACCOUNTS[0], 10**15))
        anvil.send(token, 0, data=call_data("approve(address,uint256)", batch, 2**256 - 1))
        with evm_container(anvil.url, token) as c:
            eth = watcher(c, "eth", anvil.height())
            loop = asyncio.new_event_loop()
            loop.run_until_complete(eth.sync_once())
            t0 = time.perf_counter()
            tokens = [
                address_of(order(c, "eth", "USDC", "1", f"t{i}")) for i in range(n - n_native)
            ]
            natives = [
                address_of(order(c, "eth", "ETH", "0.001", f"n{i}")) for i in range(n_native)
            ]
            print(f"set-up: {n} orders in {time.perf_counter() - t0:.1f} s")
            pay_in_batches(anvil, token, batch, tokens, natives)
            loop.run_until_complete(eth.sync_once())

            info, reconciler = reconciler_for(c, "eth")
            t0 = time.perf_counter()
            report = loop.run_until_complete(reconcile(c.db, info, reconciler))
            elapsed = time.perf_counter() - t0

            # The worst case: one transaction per transfer (receipt and transaction each).
            singles = [
                address_of(order(c, "eth", "ETH", "0.001", f"s{i}")) for i in range(n_singles)
            ]
            first = anvil.height() + 1
            pay_one_by_one(anvil, singles)
            loop.run_until_complete(eth.sync_once())
            t0 = time.perf_counter()
            single = loop.run_until_complete(reconcile(c.db, info, reconciler, from_height=first))
            single_elapsed = time.perf_counter() - t0
            loop.run_until_complete(eth.source.aclose())
            loop.close()
    rate = report.checked / elapsed
    calls = report.calls / max(report.checked, 1)
    all_ok = report.ok == report.checked == n and not report.differences
    print(
        f"reconcile: {report.checked} transfers ({n - n_native} USDC, {n_native} ETH internal) "
        f"in {elapsed:.2f} s: {rate:,.0f} transfers/s (target >= {TARGET_RATE:,})"
    )
    print(f"  JSON-RPC calls per transfer: {calls:.3f} (target <= {TARGET_CALLS})")
    print(
        f"  as booked: {report.ok}, differences: {len(report.differences)}, "
        f"not checkable: {len(report.unchecked)}"
    )
    print(
        f"one transaction per transfer: {single.checked} ETH transfers in {single_elapsed:.2f} s: "
        f"{single.checked / single_elapsed:,.0f} transfers/s, "
        f"{single.calls / max(single.checked, 1):.2f} JSON-RPC calls per transfer"
    )
    all_ok = all_ok and single.ok == single.checked == n_singles and not single.differences
    print(machine_speed.report())
    ok = all_ok and rate >= TARGET_RATE and calls <= TARGET_CALLS
    print("within targets" if ok else "MISSED a target")
    return 0 if all_ok and (ok or not args.strict) else 1


if __name__ == "__main__":
    raise SystemExit(main())
