"""The payments export at scale: ``paywatch export payments --format csv --output F``
over 1,000,000 transfers (``--quick``: 20,000), run as its own process on SQLite.

Synthetic orders and transfers are inserted straight into a fresh database (250,000
orders on btc and eth, four transfers each: BTC outputs, ETH values and USDC logs sent
to ETH orders, so the USDC rows take their decimals from the config; one in 50
removed). Printed: rows/s, the child's peak RSS (target: at most 200 MB, whatever the
row count: the export streams), a check that the file has every row and the exact
total, and the machine-speed loop of the same run.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine_speed import report as machine_report  # noqa: E402
from daemon.config.loading import parse_config  # noqa: E402
from daemon.runtime.container import build  # noqa: E402
from daemon.storage.migrations import upgrade  # noqa: E402
from daemon.storage.tables import orders, transfers  # noqa: E402
from tests.support.configs import config_yaml  # noqa: E402

# `paywatch` in a process of its own that prints its peak RSS (VmHWM: the high-water
# mark of this program's memory since exec; getrusage would also count the pages of
# this bench process, which a forked child shares until it execs).
PAYWATCH = """
import sys
from daemon.cli.main import cli
try:
    cli(sys.argv[1:], prog_name="paywatch")
finally:
    with open("/proc/self/status") as status:
        peak = next(line for line in status if line.startswith("VmHWM:"))
    print(int(peak.split()[1]) // 1024, file=sys.stderr)
"""
PER_ORDER = 4
CHUNK = 20_000
RSS_TARGET_MB = 200


def _order(seq: int, now: datetime) -> dict[str, object]:
    eth = seq % 2 == 0
    return {
        "seq": seq,
        "id": f"ord_{seq:024x}",
        "order_id": f"INV-{seq}",
        "chain": "eth" if eth else "btc",
        "asset": "ETH" if eth else "BTC",
        "decimals": 18 if eth else 8,
        "amount_base": 10**15 if eth else 150_000,
        "address": f"addr{seq}",
        "script": seq.to_bytes(8, "big"),
        "keyspace": "eth" if eth else "btc",
        "derivation_index": seq,
        "status": "paid",
        "exception": "none",
        "tolerance_ppm": 0,
        "received_base": 0,
        "received_confirmed_base": 0,
        "created_at": now,
        "updated_at": now,
        "expires_at": now,
        "late_until": now,
        "checkout_token": f"token-{seq}",
    }


def _transfer(seq: int, order_seq: int, n: int, now: datetime) -> dict[str, object]:
    eth = order_seq % 2 == 0
    height = 800_000 + seq // 7
    usdc = eth and n == PER_ORDER - 1
    return {
        "seq": seq,
        "order_seq": order_seq,
        "chain": "eth" if eth else "btc",
        "tx_hash": ("0x" if eth else "") + f"{seq:064x}",
        "output_index": (0 if usdc else -1) if eth else n,
        "log_index": (seq % 300) if usdc else None,
        "asset": ("USDC" if usdc else "ETH") if eth else "BTC",
        "amount_base": 123_456_789_012_345_678 + seq if eth else 10_000 + seq,
        "block_height": height,
        "block_hash": f"{height:064x}",
        "block_time": 1_780_000_000 + height * 12,
        "confirmations": 6,
        "finalized": False,
        "removed": seq % 50 == 0,
        "seen_at": now,
        "updated_at": now,
    }


def fill(url: str, rows: int) -> int:
    """Insert ``rows`` transfers (and their orders); the sum of their base units."""
    container = build(parse_config(config_yaml(url)))
    upgrade(container.db.engine)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    total = 0
    with container.db.engine.begin() as conn:
        order_rows = [_order(s, now) for s in range(1, rows // PER_ORDER + 1)]
        for start in range(0, len(order_rows), CHUNK):
            conn.execute(insert(orders), order_rows[start : start + CHUNK])
        batch: list[dict[str, object]] = []
        for seq in range(1, rows + 1):
            row = _transfer(seq, (seq - 1) // PER_ORDER + 1, (seq - 1) % PER_ORDER, now)
            total += int(str(row["amount_base"]))
            batch.append(row)
            if len(batch) == CHUNK:
                conn.execute(insert(transfers), batch)
                batch = []
        if batch:
            conn.execute(insert(transfers), batch)
    container.close()
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20,000 rows")
    parser.add_argument("--rows", type=int, default=None)
    args = parser.parse_args()
    rows = args.rows or (20_000 if args.quick else 1_000_000)
    rows -= rows % PER_ORDER
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'paywatch.db'}"
        config = Path(tmp) / "config.yaml"
        config.write_text(config_yaml(url))
        started = time.perf_counter()
        total = fill(url, rows)
        print(f"filled:    {rows:,} transfers in {time.perf_counter() - started:.1f} s")
        out = Path(tmp) / "payments.csv"
        command = [sys.executable, "-c", PAYWATCH, "--config", str(config), "export", "payments"]
        command += ["--format", "csv", "--output", str(out)]
        started = time.perf_counter()
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        peak_mb = int(done.stderr.strip().splitlines()[-1])
        with open(out, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            count = exported = 0
            for row in reader:
                count += 1
                exported += int(row["amount_base"])
        ok = count == rows and exported == total
        print(f"export:    {rows:,} rows as CSV in {elapsed:.1f} s: {rows / elapsed:,.0f} rows/s")
        print(f"peak RSS:  {peak_mb:.0f} MB (the export process; target <= {RSS_TARGET_MB} MB)")
        print(f"checked:   {count:,} rows, amount_base total {'exact' if ok else 'WRONG'}")
        print(machine_report())
        if not ok or peak_mb > RSS_TARGET_MB:
            sys.exit(1)


if __name__ == "__main__":
    main()
