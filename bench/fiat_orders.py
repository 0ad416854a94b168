"""POST /v1/orders priced in fiat beside orders priced in crypto, in one run, on SQLite.

One `paywatch run` (pinned to one core, SQLite, the chains of tests/support/configs.py)
whose rates come from local stand-ins of the three exchanges (tests/support/
rate_standins.py, in this process), refreshed by the daemon's own job and cached in its
rate book: every fiat order is quoted from the book (median of the three answers), never
by asking an exchange. From this process (pinned to the other core), over keep-alive
connections (the client of bench/orders_http.py), one phase after another on the same
daemon:

- crypto: ``amount`` in BTC or ETH (alternating), as bench/orders_http.py;
- fiat: ``price`` in EUR with one option, BTC or ETH (alternating);
- fiat, 3 options: ``price`` in EUR with ``accept`` BTC, ETH and USDC on eth.

Each phase prints orders/s and latency percentiles; every 201 must be stored with its
order.created event. Targets for the fiat phases as for crypto: >= 1,000 orders/s and
p99 <= 25 ms. The machine's speed in the same run is printed (bench/machine_speed.py).

    python bench/fiat_orders.py [--seconds 15] [--connections 8] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import machine_speed  # noqa: E402
from bench.orders_http import percentile, post_order, verdict  # noqa: E402
from bench.paywatch_process import Running, running, wait_until  # noqa: E402
from tests.support.configs import config_yaml  # noqa: E402
from tests.support.postgres import free_port  # noqa: E402
from tests.support.rate_standins import Exchanges, rate_standins  # noqa: E402

PIN = os.environ.get("BENCH_PIN", "1") == "1"
# Each exchange's last trade, a few cents apart (the median is the middle one).
PRICES = {
    "BTC": ("60000.10", "60000.30", "60000.20"),
    "ETH": ("2345.60", "2345.70", "2345.67"),
    "LTC": ("71.30", "71.40", "71.37"),
    "USDC": ("0.9210", "0.9213", "0.9212"),
    "POL": ("0.3810", "0.3812", "0.3811"),
}
PRICE = {"amount": "49.90", "currency": "EUR"}
Body = Callable[[int], dict[str, Any]]


def crypto(n: int) -> dict[str, Any]:
    return {
        "chain": "btc" if n % 2 else "eth",
        "asset": "BTC" if n % 2 else "ETH",
        "amount": "0.015",
    }


def fiat(n: int) -> dict[str, Any]:
    return {"chain": "btc" if n % 2 else "eth", "asset": "BTC" if n % 2 else "ETH", "price": PRICE}


def fiat_options(n: int) -> dict[str, Any]:
    accept = [
        {"chain": "btc", "asset": "BTC"},
        {"chain": "eth", "asset": "ETH"},
        {"chain": "eth", "asset": "USDC"},
    ]
    return {"price": PRICE, "accept": accept}


@dataclass(frozen=True)
class Phase:
    name: str  # also the order_id prefix of its measured orders
    label: str
    body: Body
    judged: bool  # the fiat targets apply


PHASES = (
    Phase("crypto", "crypto-priced (amount), BTC or ETH", crypto, False),
    Phase("fiat", "fiat-priced (price EUR), BTC or ETH", fiat, True),
    Phase("fiat3", "fiat-priced, 3 options (accept)", fiat_options, True),
)


@dataclass
class Result:
    latencies: list[float]
    codes: dict[int, int]
    elapsed: float
    stored: int = 0
    events: int = 0


async def connection(
    port: int, key: str, prefix: str, body: Body, deadline: float, result: Result
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    n = 0
    try:
        while time.perf_counter() < deadline:
            n += 1
            start = time.perf_counter()
            status = await post_order(reader, writer, key, {"order_id": f"{prefix}-{n}", **body(n)})
            result.latencies.append(time.perf_counter() - start)
            result.codes[status] = result.codes.get(status, 0) + 1
    finally:
        writer.close()


async def load(port: int, key: str, tag: str, body: Body, seconds: float, conns: int) -> Result:
    result = Result([], {}, 0.0)
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(
        *(connection(port, key, f"{tag}.{c}", body, deadline, result) for c in range(conns))
    )
    result.elapsed = time.perf_counter() - start
    return result


def quote_all(exchanges: Exchanges) -> None:
    for asset, values in PRICES.items():
        for standin, value in zip(exchanges.all, values, strict=True):
            standin.set_price(asset, "EUR", value)


def rates_cached(daemon: Running) -> bool:
    """Every asset has a rate in the daemon's book (its first refresh is done)."""
    answer = httpx.get(
        f"{daemon.base}/v1/rates",
        params={"currency": "EUR"},
        headers={"Authorization": f"Bearer {daemon.key}"},
        timeout=2,
    )
    rates = answer.json().get("rates", []) if answer.status_code == 200 else []
    return {r["asset"] for r in rates if r["value"] is not None} >= set(PRICES)


def same_price(price: dict[str, str] | None) -> bool:
    """``price`` is PRICE (the amount compared as a number: 49.9 is 49.90)."""
    if price is None:
        return False
    amount, currency = Decimal(price["amount"]), price["currency"]
    return amount == Decimal(PRICE["amount"]) and currency == PRICE["currency"]


def check_shapes(daemon: Running, db: Path) -> str | None:
    """One order of each phase, as the API shows it: crypto-priced with no rate, fiat with
    its price and a locked rate on each option. What is wrong, or None."""
    auth = {"Authorization": f"Bearer {daemon.key}"}
    with httpx.Client(base_url=daemon.base, headers=auth, timeout=10) as client:
        for phase, options in (("crypto", 1), ("fiat", 1), ("fiat3", 3)):
            with sqlite3.connect(db) as conn:
                row = conn.execute(
                    "SELECT id FROM orders WHERE order_id = ?", (f"{phase}.0-1",)
                ).fetchone()
            if row is None:
                return f"{phase}: its first order was not stored"
            order = client.get(f"/v1/orders/{row[0]}").json()
            fiat = phase != "crypto"
            rates = [o.get("rate") is not None for o in order.get("options") or []]
            priced = order.get("price") is None if not fiat else same_price(order["price"])
            if len(rates) != options or not priced or rates != [fiat] * options:
                return f"{phase}: not the order the phase asked for: {order}"
    return None


def count(db: Path, prefix: str) -> tuple[int, int]:
    with sqlite3.connect(db) as conn:
        stored = conn.execute(
            "SELECT count(*) FROM orders WHERE order_id LIKE ?", (f"{prefix}%",)
        ).fetchone()[0]
        events = conn.execute(
            "SELECT count(*) FROM events JOIN orders ON orders.seq = events.order_seq "
            "WHERE order_id LIKE ?",
            (f"{prefix}%",),
        ).fetchone()[0]
    return int(stored), int(events)


def show(phase: Phase, result: Result) -> bool:
    """Prints the phase's figures; whether its targets are met (True when not judged)."""
    result.latencies.sort()
    created = result.codes.get(201, 0)
    rate = created / result.elapsed
    p50, p95, p99 = (percentile(result.latencies, q) * 1000 for q in (0.5, 0.95, 0.99))
    worst = result.latencies[-1] * 1000
    print(f"{phase.label}, {result.elapsed:.1f} s")
    print(
        f"  created:    {created} (status codes {result.codes}); stored {result.stored}, "
        f"events {result.events}"
    )
    fast, quick = rate >= 1000, p99 <= 25
    if phase.judged:
        print(f"  throughput: {rate:,.0f} orders/s   (target >= 1,000: {verdict(fast)})")
        print(
            f"  latency:    p50 {p50:.1f} ms  p95 {p95:.1f} ms  p99 {p99:.1f} ms  "
            f"max {worst:.1f} ms   (target p99 <= 25 ms: {verdict(quick)})"
        )
    else:
        print(f"  throughput: {rate:,.0f} orders/s   (the baseline)")
        print(
            f"  latency:    p50 {p50:.1f} ms  p95 {p95:.1f} ms  p99 {p99:.1f} ms  "
            f"max {worst:.1f} ms"
        )
    return not phase.judged or (fast and quick)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    args = parser.parse_args()
    seconds = 2.0 if args.quick else args.seconds
    pinned = PIN and (os.cpu_count() or 1) > 1
    if pinned:
        os.sched_setaffinity(0, {1})
    results: list[tuple[Phase, Result]] = []
    with tempfile.TemporaryDirectory(prefix="paywatch-bench-") as tmp, rate_standins() as ex:
        quote_all(ex)
        workdir, port = Path(tmp), free_port()
        database = workdir / "bench.db"
        rates = (
            f"rates: {{sources: [{ex.sources_yaml()}], min_sources: 2, refresh: 1m, "
            "max_age: 5m, currencies: [EUR]}\nmetrics: {enabled: false}\n"
        )
        config = workdir / "config.yaml"
        config.write_text(
            config_yaml(f"sqlite:///{database}", listen=f"127.0.0.1:{port}", extra=rates)
        )
        pin = ["taskset", "-c", "0"] if pinned else []
        with running(config, port, pin=pin) as daemon:
            wait_until(lambda: rates_cached(daemon), "the daemon's rates")
            asked = sum(s.requests for s in ex.all)
            for phase in PHASES:
                asyncio.run(load(port, daemon.key, f"warm{phase.name}", phase.body, 1.0, 8))
            for phase in PHASES:
                result = asyncio.run(
                    load(port, daemon.key, phase.name, phase.body, seconds, args.connections)
                )
                results.append((phase, result))
            asked = sum(s.requests for s in ex.all) - asked
            wrong = check_shapes(daemon, database)
        for phase, result in results:
            result.stored, result.events = count(database, f"{phase.name}.")
    print(
        f"POST /v1/orders on SQLite, {args.connections} keep-alive connections, "
        f"rates cached (3 exchange stand-ins, median; {asked} requests to them while measuring)"
    )
    met = [show(phase, result) for phase, result in results]
    print(machine_speed.report())
    lost = [p.name for p, r in results if r.stored != r.codes.get(201, 0) or r.events != r.stored]
    if lost:
        raise SystemExit(f"orders were lost in {', '.join(lost)}: stored differs from the 201s")
    refused = [p.name for p, r in results if set(r.codes) != {201}]
    if refused:
        raise SystemExit(f"orders were refused in {', '.join(refused)} (see the status codes)")
    if wrong is not None:
        raise SystemExit(wrong)
    print(f"fiat targets: {'met' if all(met) else 'MISSED'}")


if __name__ == "__main__":
    main()
