"""Signed webhook deliveries from the outbox (SQLite, PostgreSQL) to a local receiver.

Fills the outbox with N real orders (each writes its order.created event), then
runs the daemon's dispatcher (pinned to one core) against a receiver process
(pinned to the other) that verifies every request with the `standardwebhooks`
library. Prints deliveries/s from the first claim until every delivery is
recorded as delivered, and checks none was lost: N distinct webhook-ids arrived,
all verified, N rows delivered. Target: >= 1,500 deliveries/s. ``--db both`` runs
SQLite and then PostgreSQL (a throwaway cluster, its server unpinned) and prints them
side by side; ``--runs`` repeats each.

    python bench/webhooks.py [--events 5000] [--db sqlite|postgresql|both] [--runs 1] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import Connection, func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import machine_speed  # noqa: E402
from bench.databases import databases  # noqa: E402
from daemon.cli.serve import run_loop  # noqa: E402
from daemon.config.loading import parse_config  # noqa: E402
from daemon.runtime.container import Container, build  # noqa: E402
from daemon.services.orders import NewOrder  # noqa: E402
from daemon.storage.migrations import upgrade  # noqa: E402
from daemon.storage.tables import events  # noqa: E402
from daemon.webhooks.runner import build_dispatcher  # noqa: E402
from tests.support.configs import config_yaml  # noqa: E402
from tests.support.postgres import free_port  # noqa: E402

SECRET = "whsec_" + "YmVuY2htYXJrIHNlY3JldCBmb3Igd2ViaG9va3MhIQ=="
TARGET = 1500
PIN = os.environ.get("BENCH_PIN", "1") == "1" and (os.cpu_count() or 1) > 1


def start_receiver() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    pin = ["taskset", "-c", "1"] if PIN else []
    command = [*pin, sys.executable, "-m", "tests.support.receiver"]
    proc = subprocess.Popen(
        [*command, "--port", str(port), "--secret", SECRET], cwd=ROOT, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(400):
        try:
            httpx.get(f"{base}/stats", timeout=1).raise_for_status()
            return proc, base
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the receiver did not start")


def fill(container: Container, count: int) -> None:
    c = container
    done = 0
    while done < count:
        batch = min(500, count - done)

        def create(conn: Connection, start: int = done, n: int = batch) -> None:
            for i in range(start, start + n):
                order = NewOrder(order_id=f"b-{i}", chain="btc", asset="BTC", amount="0.001")
                c.orders.create(conn, order, c.clock())

        c.db.write(create)
        done += batch


async def deliver(container: Container, count: int, receiver_url: str) -> float:
    c = container
    # Counted as the daemon counts them: each attempt also goes to the Prometheus metrics.
    heard = c.metrics.webhooks if c.metrics is not None else None
    dispatcher, close = build_dispatcher(c.config.webhooks, c.db, c.clock, observer=heard)
    stop = asyncio.Event()

    def delivered(conn: Connection) -> int:
        query = select(func.count()).where(events.c.delivery_status == "delivered")
        return int(conn.execute(query).scalar() or 0)

    started = time.perf_counter()
    running = asyncio.create_task(dispatcher.run(stop))
    try:
        # Follow progress at the receiver (a count over the outbox would compete with
        # the dispatcher for the database), then wait until every result is recorded.
        async with httpx.AsyncClient(base_url=receiver_url, timeout=10) as probe:
            while (await probe.get("/stats")).json()["unique_ids"] < count:
                if running.done():
                    await running
                    raise SystemExit("the dispatcher stopped early")
                await asyncio.sleep(0.05)
        while await c.db.run_read(delivered) < count:
            if running.done():
                await running
                raise SystemExit("the dispatcher stopped early")
            await asyncio.sleep(0.02)
        return time.perf_counter() - started
    finally:
        stop.set()
        await running
        await close()


def one_run(url: str, base: str, count: int) -> float:
    """Deliveries/s of one run on the database at ``url`` (filled first)."""
    extra = (
        f"webhooks: {{url: '{base}/hooks', secret: '{SECRET}',"
        " allow_private_targets: true, max_in_flight: 64,"
        " max_in_flight_per_endpoint: 8}\n"
    )
    container = build(parse_config(config_yaml(url, extra=extra)))
    try:
        upgrade(container.db.engine)
        fill(container, count)
        elapsed: list[float] = []

        async def run() -> None:
            elapsed.append(await deliver(container, count, base))

        run_loop(run())
    finally:
        container.close()
    return count / elapsed[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    args = parser.parse_args()
    count = 300 if args.quick else args.events
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    rates: dict[str, list[float]] = {}
    receiver, base = start_receiver()
    try:
        for kind in kinds:
            with databases(kind) as urls:
                if PIN:  # the dispatcher on core 0; the receiver (and PostgreSQL) elsewhere
                    os.sched_setaffinity(0, {0})
                for _ in range(args.runs):
                    rate = one_run(next(urls), base, count)
                    rates.setdefault(kind, []).append(rate)
                    print(f"  {kind}: {rate:,.0f} deliveries/s", flush=True)
                if PIN:
                    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
        stats = httpx.get(f"{base}/stats", timeout=10).json()
    finally:
        receiver.terminate()
        receiver.wait(10)
    runs = sum(len(r) for r in rates.values())
    print(f"webhooks: {count} signed deliveries per run, {runs} runs, dispatcher pinned to a core")
    for kind, values in rates.items():
        shown = ", ".join(f"{r:,.0f}" for r in values)
        met = "met" if min(values) >= TARGET else "MISSED"
        print(f"  {kind:10s} {shown} deliveries/s   (target >= {TARGET:,} in every run: {met})")
    print(
        f"  receiver:   {stats['requests']} requests, {stats['unique_ids']} distinct webhook-ids,"
        f" {stats['unverified']} failed standardwebhooks verification"
    )
    print(machine_speed.report())
    lost = count * runs - stats["unique_ids"]
    print(f"  lost:       {lost}")
    if lost or stats["unverified"]:
        raise SystemExit("deliveries were lost or failed verification")


if __name__ == "__main__":
    main()
