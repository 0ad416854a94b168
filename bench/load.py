"""Latency under load: many open orders, a steady stream of payments, a block a second.

`paywatch run` (pinned to one core) watches an anvil started with --no-mining over
WebSocket newHeads (confirmations: 1) and sends its webhooks to a store in its own
process that verifies each with `standardwebhooks` (bench/payment_latency.py's store).
First N open orders are made, half ETH and half an ERC-20 (the test token, deployed
here): real orders with derived addresses, written by the daemon's own OrderService in
this process before the daemon starts (the API would take minutes for 100,000). Then,
for M minutes, R payments a second (each its own transaction, ETH or a token transfer,
sent spread over the second) and one block a second, mined by this driver: t0 = when
evm_mine returned, t1 = when the store received that order's order.paid.

Targets: p95 <= 250 ms, p99 <= 500 ms, no growth (growth: the last minute's p95 above
1.5x the first's and 25 ms above it; halves in runs under two minutes), daemon RSS <= 400 MB
(VmHWM); SQLite and PostgreSQL in turn. Before the payments, the orders' order.created
webhooks are let through to the store (their rate is printed). Where the time goes is
read back from the daemon's database afterwards; the machine's speed is printed too.

    python bench/load.py [--orders 100000] [--rate 50] [--minutes 5] [--db both] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import Connection, create_engine, func, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import machine_speed  # noqa: E402
from bench.payment_latency import (  # noqa: E402
    PIN,
    SECRET,
    Store,
    percentile,
    pin,
    serve_store,
    store_process,
)
from bench.paywatch_process import running, wait_until  # noqa: E402
from tests.support.anvil import ACCOUNTS, Anvil, anvil_node, call_data, load_artifact  # noqa: E402
from tests.support.keys import ETH_XPUB  # noqa: E402
from tests.support.postgres import free_port, postgres_cluster  # noqa: E402
from tests.support.receiver import Receive, Scope, Send  # noqa: E402

TARGET_P95, TARGET_P99, TARGET_RSS_MB = 250.0, 500.0, 400.0
GROWTH, NOISE_MS = 1.5, 25.0  # growth: the last minute's p95 above 1.5x the first's and 25 ms
ETH_WEI, TOKEN_UNITS = 10**15, 10**6  # the orders' amounts: 0.001 ETH, 1 USDC


class LoadStore(Store):
    """The verifying store, which also hands over every arrival at once."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/arrivals":
            await self._reply(send, (200, json.dumps(self.paid)))
            return
        await super().__call__(scope, receive, send)


def config_text(database_url: str, port: int, anvil: Anvil, token: str, store: str) -> str:
    return f"""
database_url: {database_url}
api: {{listen: "127.0.0.1:{port}"}}
metrics: {{listen: "127.0.0.1:{free_port()}"}}
log_level: warning
orders: {{expires_in: 6h, late_window: 24h, underpaid_tolerance_percent: 0}}
webhooks: {{url: "{store}/hooks", secret: "{SECRET}", allow_private_targets: true}}
chains:
  eth:
    type: evm
    chain_id: 31337
    xpub: {ETH_XPUB}
    confirmations: 1
    start_height: {anvil.height()}
    native: {{symbol: ETH, decimals: 18}}
    tokens: {{USDC: {{contract: "{token}", decimals: 6}}}}
    backend: {{kind: rpc, urls: ["{anvil.url}"], ws_url: "{anvil.ws_url}", poll_interval: 1s}}
"""


def make_orders(config: str, count: int) -> list[tuple[str, str, str]]:
    """``count`` open orders (id, asset, address), even ones ETH and odd ones USDC, made by
    the daemon's OrderService on its database (migrated first), 500 per transaction."""
    from daemon.config.loading import parse_config
    from daemon.runtime.container import build
    from daemon.services.orders import NewOrder
    from daemon.storage.migrations import upgrade

    container = build(parse_config(config))
    upgrade(container.db.engine)
    made: list[tuple[str, str, str]] = []
    try:
        for start in range(0, count, 500):

            def write(conn: Connection, start: int = start) -> list[tuple[str, str, str]]:
                out = []
                for i in range(start, min(count, start + 500)):
                    asset, amount = ("ETH", "0.001") if i % 2 == 0 else ("USDC", "1")
                    request = NewOrder(
                        order_id=f"load-{i}", chain="eth", asset=asset, amount=amount
                    )
                    view = container.orders.create(conn, request, container.clock()).view
                    out.append((str(view["id"]), asset, str(view["address"])))
                return out

            made.extend(container.db.write(write))
        if container.db.engine.dialect.name == "postgresql":
            # As autovacuum would have by now on a database that grew over time (the
            # first claim planned on empty-table statistics can take minutes).
            with container.db.engine.connect() as conn:
                conn.execute(text("ANALYZE"))
                conn.commit()
    finally:
        container.close()
    return made


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of ``pid`` in MB."""
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    fields = dict(line.split(":", 1) for line in lines)
    rss, hwm = (int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM"))
    return rss, hwm


@dataclass(frozen=True)
class Sample:
    order: str
    second: int  # since the stream started
    t0: float  # evm_mine returned


def stream(
    anvil: Anvil, token: str, made: list[tuple[str, str, str]], rate: int, seconds: int, pid: int
) -> tuple[list[Sample], list[float]]:
    """``rate`` payments a second, spread over it, and a block at each second's end."""
    samples: list[Sample] = []
    rss: list[float] = []
    pool = iter(made)
    tick = time.time()
    for second in range(seconds):
        paying = [next(pool) for _ in range(rate)]
        for k, (_, asset, address) in enumerate(paying):
            if asset == "ETH":
                anvil.send(address, ETH_WEI, wait=False)
            else:
                data = call_data("transfer(address,uint256)", address, TOKEN_UNITS)
                anvil.send(token, 0, data=data, gas=100_000, wait=False)
            pause = tick + (k + 1) / (rate + 1) - time.time()
            if pause > 0:
                time.sleep(pause)
        tick += 1.0
        if tick > time.time():
            time.sleep(tick - time.time())
        anvil.rpc("evm_mine")
        t0 = time.time()
        samples.extend(Sample(order, second, t0) for order, _, _ in paying)
        rss.append(rss_mb(pid)[0])
    return samples, rss


def drain(store: str, count: int) -> float:
    """Wait until the store has had ``count`` webhooks (the orders' order.created, sent
    before any payment's); their rate."""
    started = time.perf_counter()
    wait_until(
        lambda: httpx.get(f"{store}/stats", timeout=10).json()["requests"] >= count,
        "the order.created webhooks",
        seconds=max(60.0, count / 100),
    )
    return count / (time.perf_counter() - started)


def arrivals(store: str, samples: list[Sample], wait: float = 60.0) -> dict[str, float]:
    deadline = time.monotonic() + wait
    while True:
        paid: dict[str, float] = httpx.get(f"{store}/arrivals", timeout=30).json()
        missing = [s.order for s in samples if s.order not in paid]
        if not missing:
            return paid
        if time.monotonic() > deadline:
            raise SystemExit(f"{len(missing)} orders paid got no order.paid (e.g. {missing[0]})")
        time.sleep(0.5)


def stages(database_url: str, samples: list[Sample], paid: dict[str, float]) -> None:
    """From the daemon's database: when order.paid was written and first attempted."""
    from daemon.storage.tables import events, orders, webhook_attempts

    query = (
        select(orders.c.id, events.c.created_at, func.min(webhook_attempts.c.attempted_at))
        .join(orders, orders.c.seq == events.c.order_seq)
        .join(webhook_attempts, webhook_attempts.c.event_seq == events.c.seq)
        .where(events.c.type == "order.paid")
        .group_by(orders.c.id, events.c.created_at)
    )
    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = {r[0]: (r[1].timestamp(), r[2].timestamp()) for r in conn.execute(query)}
    engine.dispose()
    parts: dict[str, list[float]] = {"written": [], "attempted": [], "at the store": []}
    for s in samples:
        if s.order in rows:
            written, sent = rows[s.order]
            parts["written"].append((written - s.t0) * 1000)
            parts["attempted"].append((sent - written) * 1000)
            parts["at the store"].append((paid[s.order] - sent) * 1000)
    labels = {
        "written": "block -> order.paid written (wake, fetch, match, commit)",
        "attempted": "written -> its delivery attempted (claim, earlier events first)",
        "at the store": "attempted -> at the store (sign, POST, verify)",
    }
    for name, values in parts.items():
        if values:
            print(
                f"    {labels[name]}: p50 {statistics.median(values):.1f},"
                f" p95 {percentile(values, 0.95):.1f}, max {max(values):.1f} ms"
            )


def run_one(kind: str, server: str, args: argparse.Namespace, workdir: Path) -> bool:
    workdir.mkdir()
    url = f"sqlite:///{workdir / 'paywatch.db'}" if kind == "sqlite" else f"{server}/load"
    if kind == "postgres":
        admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text('CREATE DATABASE "load"'))
        admin.dispose()
    print(f"{kind}: {args.orders:,} open orders, {args.rate} payments/s for {args.seconds} s")
    with anvil_node("--no-mining") as anvil, store_process(__file__) as store:
        token = anvil.deploy(load_artifact("TestToken"))
        anvil.send(
            token, 0, data=call_data("mint(address,uint256)", ACCOUNTS[0], 10**15), wait=False
        )
        anvil.mine()
        port = free_port()
        config = workdir / "config.yaml"
        config.write_text(config_text(url, port, anvil, token, store))
        t = time.perf_counter()
        made = make_orders(config.read_text(), args.orders)
        print(f"  orders made in-process: {len(made) / (time.perf_counter() - t):,.0f}/s")
        with running(config, port, pin=pin(0), ready_seconds=120) as daemon:
            drained = drain(store, len(made))
            print(f"  the orders' order.created webhooks delivered first: {drained:,.0f}/s")
            samples, rss = stream(anvil, token, made, args.rate, args.seconds, daemon.pid)
            try:
                paid = arrivals(store, samples)
            except SystemExit:
                print((workdir / "daemon.log").read_text()[-3000:])
                print(httpx.get(f"{store}/stats", timeout=10).json())
                raise
            hwm = rss_mb(daemon.pid)[1]
        stats = httpx.get(f"{store}/stats", timeout=10).json()
    ms = [(paid[s.order] - s.t0) * 1000 for s in samples]
    p50, p95, p99 = (percentile(ms, q) for q in (0.5, 0.95, 0.99))
    minutes = [
        percentile([m for m, s in zip(ms, samples, strict=True) if s.second // 60 == k], 0.95)
        for k in range(max(1, args.seconds // 60))
    ]
    windows = minutes if args.seconds >= 120 else _halves(ms)
    grew = windows[-1] > GROWTH * windows[0] and windows[-1] - windows[0] > NOISE_MS
    ok = p95 <= TARGET_P95 and p99 <= TARGET_P99 and not grew and hwm <= TARGET_RSS_MB
    print(f"  block -> order.paid at the store ({len(ms)} payments):")
    print(
        f"    p50 {p50:.1f}  p95 {p95:.1f} (target <= {TARGET_P95:.0f})"
        f"  p99 {p99:.1f} (target <= {TARGET_P99:.0f})  max {max(ms):.1f} ms"
    )
    label = "per-minute p95" if args.seconds >= 120 else "per-half p95"
    print(
        f"    {label}: {', '.join(f'{v:.0f}' for v in windows)} ms;"
        f" last/first {windows[-1] / windows[0]:.2f} (growth: {'YES' if grew else 'none'})"
    )
    stages(url, samples, paid)
    print(
        f"  daemon RSS: max {hwm:.0f} MB (VmHWM; sampled {min(rss):.0f}..{max(rss):.0f}),"
        f" target <= {TARGET_RSS_MB:.0f} MB"
    )
    print(f"  store: {stats['requests']} webhooks, {stats['unverified']} failed verification")
    print(f"  {kind}: {'within targets' if ok else 'MISSED a target'}")
    return ok and not stats["unverified"]


def _halves(ms: list[float]) -> list[float]:
    half = len(ms) // 2
    return [percentile(ms[:half], 0.95), percentile(ms[half:], 0.95)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=50, help="payments a second")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="2,000 orders, 20/s for 20 s")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--store", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.store is not None:
        serve_store(args.store, LoadStore(SECRET))
        return 0
    if args.quick:
        args.orders, args.rate, args.minutes = 2_000, 20, 20 / 60
    args.seconds = round(args.minutes * 60)
    if args.rate * args.seconds > args.orders:
        raise SystemExit(f"{args.rate * args.seconds} payments need as many orders")
    if PIN:
        os.sched_setaffinity(0, {1})
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    ok = True
    with tempfile.TemporaryDirectory(prefix="paywatch-load-") as tmp:
        for kind in kinds:
            if kind == "postgres":
                with postgres_cluster() as server:
                    ok = run_one(kind, server, args, Path(tmp) / kind) and ok
            else:
                ok = run_one(kind, "", args, Path(tmp) / kind) and ok
    print(machine_speed.report())
    print("within targets" if ok else "MISSED a target")
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    raise SystemExit(main())
