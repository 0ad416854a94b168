"""The checkout page: its size on the wire, its server time, and 1,000 live event streams.

`paywatch run` as a process (pinned to one core; SQLite, or PostgreSQL with --db),
driven from this process (pinned to the other) over raw HTTP/1.1 on loopback:

1. size: ``GET /pay/{token}`` as a browser asks for it, every byte of the response
   counted (status line, headers, body) for a waiting single-option order (BTC, ETH),
   a fiat order with three options (none chosen, each chosen) and each of them in
   Arabic (``?lang=ar``); the largest is judged: <= 60 KB;
2. server time: the ``Server-Timing: app;dur=`` the handler reports (DB read + render)
   over ``--pages`` requests, each for a different order, after a warm-up on others:
   p99 <= 20 ms; the request time measured here over loopback beside it;
3. streams: one ``/pay/{token}/events`` stream per order (``--orders``), all open at
   once; then ``--cancels`` orders cancelled one at a time at ``--rate`` a second
   (``POST /v1/orders/{id}/cancel``, a commit in the daemon) while every stream stays
   open. For each, from just before the cancel is sent to the arrival of that order's
   next ``event: state`` on its stream (an upper bound on commit -> push): p99 <= 100 ms,
   and every stream still open at the end. Each cancelled order's /status must say
   cancelled with the digest its stream was last sent. The daemon's RSS beside it.

The machine-speed loop is printed in the same run.

    python bench/checkout.py [--orders 1000] [--cancels 200] [--rate 20] [--pages 500]
                             [--db sqlite|postgresql|both] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import machine_speed  # noqa: E402
from bench.checkout_streams import live, mark, spread  # noqa: E402
from bench.checkout_wire import Connection, Order  # noqa: E402
from bench.databases import KINDS, databases  # noqa: E402
from bench.orders_http import percentile  # noqa: E402
from bench.paywatch_process import running  # noqa: E402
from tests.support.configs import config_yaml  # noqa: E402
from tests.support.postgres import free_port  # noqa: E402

PIN = os.environ.get("BENCH_PIN", "1") == "1" and (os.cpu_count() or 1) > 1
TARGET_KB, TARGET_SERVER_MS = 60, 20.0
RATES = (
    "rates: {sources: [], currencies: [EUR],"
    " fixed: {BTC/EUR: '60000', ETH/EUR: '2000', USDC/EUR: '0.92'}}\n"
)
THREE = [
    {"chain": "btc", "asset": "BTC"},
    {"chain": "eth", "asset": "ETH"},
    {"chain": "eth", "asset": "USDC"},
]


def write_config(workdir: Path, url: str, port: int) -> Path:
    api = (
        f'public_url: "http://127.0.0.1:{port}", checkout_streams: 5000,'
        " checkout_streams_per_order: 5, checkout_streams_per_minute: 100000"
    )
    extra = RATES + "log_level: warning\nmetrics: {enabled: false}\n"
    config = workdir / "config.yaml"
    config.write_text(config_yaml(url, listen=f"127.0.0.1:{port}", extra=extra, api=api))
    return config


async def create(port: int, key: str, bodies: list[dict[str, object]]) -> list[Order]:
    """The orders, over 4 keep-alive connections; their ids and checkout paths."""
    made: list[Order | None] = [None] * len(bodies)

    async def worker(first: int) -> None:
        conn = await Connection.open(port)
        try:
            for n in range(first, len(bodies), 4):
                made[n] = await conn.create_order(key, bodies[n])
        finally:
            conn.close()

    await asyncio.gather(*(worker(w) for w in range(4)))
    return [order for order in made if order is not None]


def single(tag: str, n: int) -> dict[str, object]:
    chain, asset = ("btc", "BTC") if n % 2 else ("eth", "ETH")
    return {"order_id": f"{tag}-{n}", "chain": chain, "asset": asset, "amount": "0.015"}


async def sizes(port: int, key: str) -> int:
    """Prints each page's size on the wire; the largest."""
    btc, eth = await create(port, key, [single("size", 1), single("size", 2)])
    fiat = {"order_id": "size-3", "price": {"amount": "49.90", "currency": "EUR"}}
    (three,) = await create(port, key, [{**fiat, "accept": THREE}])
    pages = [("single-option BTC", btc.path, ""), ("single-option ETH", eth.path, "")]
    pages.append(("fiat, 3 options, none chosen", three.path, ""))
    for o in THREE:
        chosen = f"{o['chain']}:{o['asset']}"
        pages.append((f"fiat, 3 options, {chosen} chosen", three.path, f"option={chosen}&"))
    conn = await Connection.open(port)
    largest = 0
    print("  page size on the wire (status line + headers + body), waiting orders:")
    try:
        for label, path, query in pages:
            for lang in ("en", "ar"):
                reply = await conn.get(f"{path}?{query}lang={lang}", browser=True)
                if reply.status != 200:
                    raise SystemExit(f"GET {path}: {reply.status}")
                largest = max(largest, reply.wire)
                print(
                    f"    {label}, {lang}: {reply.wire:,} bytes"
                    f" (headers {reply.wire - len(reply.body):,})"
                )
    finally:
        conn.close()
    met = largest <= TARGET_KB * 1024
    print(
        f"  largest page: {largest:,} bytes ({largest / 1024:.1f} KB)"
        f"   target <= {TARGET_KB} KB: {mark(met)}"
    )
    return largest


async def page_times(port: int, warm: list[Order], orders: list[Order]) -> None:
    """Server-Timing and the client's request time, one request per order."""
    conn = await Connection.open(port)
    server, client = [], []
    try:
        for order in warm:
            await conn.get(order.path, browser=True)
        for order in orders:
            started = time.perf_counter()
            reply = await conn.get(order.path, browser=True)
            client.append((time.perf_counter() - started) * 1000)
            if reply.status != 200:
                raise SystemExit(f"GET {order.path}: {reply.status}")
            timing = reply.headers.get("server-timing", "")
            if not timing.startswith("app;dur="):
                raise SystemExit(f"GET {order.path}: no Server-Timing app;dur= ({timing!r})")
            server.append(float(timing.removeprefix("app;dur=")))
    finally:
        conn.close()
    p99 = percentile(sorted(server), 0.99)
    print(f"  GET /pay/{{token}}, {len(orders)} orders one after another (warmed on {len(warm)}):")
    print(
        f"    server (Server-Timing app): {spread(server)}"
        f"   target p99 <= {TARGET_SERVER_MS:.0f} ms: {mark(p99 <= TARGET_SERVER_MS)}"
    )
    print(f"    client over loopback:       {spread(client)}")


def one_run(kind: str, url: str, count: int, pages: int, cancels: int, rate: float) -> None:
    with tempfile.TemporaryDirectory(prefix="paywatch-bench-") as tmp:
        port = free_port()
        config = write_config(Path(tmp), url, port)
        try:
            measure(kind, url, config, port, count, pages, cancels, rate)
        except BaseException:
            print(f"the daemon's log ends:\n{tail(Path(tmp) / 'daemon.log')}", file=sys.stderr)
            raise


def measure(
    kind: str, url: str, config: Path, port: int, count: int, pages: int, cancels: int, rate: float
) -> None:
    pin = ["taskset", "-c", "0"] if PIN else []
    with running(config, port, pin=pin) as daemon:
        print(f"{kind}: one daemon, {count} orders")
        asyncio.run(sizes(port, daemon.key))
        warm = asyncio.run(create(port, daemon.key, [single("warm", n) for n in range(20)]))
        orders = asyncio.run(create(port, daemon.key, [single("o", n) for n in range(count)]))
        if urlsplit(orders[0].url).netloc != f"127.0.0.1:{port}":
            raise SystemExit(f"checkout_url {orders[0].url} is not this daemon's")
        asyncio.run(page_times(port, warm, orders[:pages]))
        asyncio.run(live(daemon, url, port, orders, cancels, rate))


def tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=1000, help="orders, one stream each")
    parser.add_argument("--cancels", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="cancels a second")
    parser.add_argument("--pages", type=int, default=500, help="page requests timed")
    parser.add_argument("--db", choices=[*KINDS, "both"], default="sqlite")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    args = parser.parse_args()
    count, cancels, pages = (50, 20, 50) if args.quick else (args.orders, args.cancels, args.pages)
    if PIN:
        os.sched_setaffinity(0, {1})
    print("checkout page: paywatch run on one core, this driver on the other, loopback")
    for kind in list(KINDS) if args.db == "both" else [args.db]:
        with databases(kind) as urls:
            one_run(kind, next(urls), count, min(pages, count), min(cancels, count), args.rate)
    print(machine_speed.report())


if __name__ == "__main__":
    main()
