"""The benchmarks still run and print their figures (quick mode; the figures are not judged)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("script", "figures"),
    [
        ("bench/derive.py", ["P2WPKH", "EVM", "bitcoinlib", "ratio"]),
        ("bench/orders_http.py", ["orders/s", "p99", "stored"]),
        ("bench/fiat_orders.py", ["crypto-priced", "fiat-priced", "3 options", "p99", "machine"]),
        ("bench/webhooks.py", ["deliveries/s", "distinct webhook-ids", "lost:       0"]),
        (
            "bench/events_volume.py",
            ["sqlite: 20,200 events", "postgresql: 20,200 events", "claim", "p99 ratio"],
        ),
        ("bench/bitcoin_match.py", ["parse alone", "match after parsing", "node JSON reply"]),
        ("bench/evm_matching.py", ["matching time", "RSS", "per-address polling"]),
        ("bench/evm_rpc.py", ["JSON-RPC calls/block", "per-address polling", "blocks/s"]),
        ("bench/evm_watcher.py", ["blocks/s", "matched transfers", "SQLite"]),
        ("bench/payment_latency.py", ["p95/target", "polling every 1 s", "0 failed", "machine"]),
        (
            "bench/load.py",
            ["sqlite: 2,000 open", "postgres: 2,000 open", "per-half p95", "RSS", "0 failed"],
        ),
        ("bench/rpc_calls.py", ["JSON-RPC calls/block", "no trace API", "machine"]),
        ("bench/cluster.py", ["1 instance", "3 instances", "orders/s", "takeover", "machine"]),
        ("bench/reconcile.py", ["transfers/s", "JSON-RPC calls per transfer", "machine"]),
        ("bench/export.py", ["rows/s", "peak RSS", "total exact", "machine"]),
        (
            "bench/web3_side_by_side.py",
            ["blocks/s", "eth-abi", "eth-utils", "PublicKey.add", "newHeads", "same results"],
        ),
        (
            "bench/checkout.py",
            ["largest page", "Server-Timing", "next event: p50", "end: 50 of 50", "RSS", "machine"],
        ),
    ],
)
def test_benchmark_runs(script: str, figures: list[str], tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / script), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for figure in figures:
        assert figure in result.stdout, result.stdout
