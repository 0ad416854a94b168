"""The outbox with a million delivered events against an empty one: claim and API latency.

On a fresh database (SQLite, PostgreSQL or both) with 200 real orders whose
order.created deliveries wait (the dispatcher off, so they stay waiting), measures
p50/p99 of:

- the dispatcher's claim (``Outbox.claim`` of up to 64 deliveries, in a transaction
  rolled back after each, so every round finds the same work);
- ``GET /v1/webhooks/deliveries?order_id=`` and ``GET /v1/orders/{id}`` over real HTTP
  (the daemon's API in this process).

Then bulk-inserts N delivered events (default 1,000,000: five per order for N/5 orders
cloned from a real one, each event with a real order.created body; no attempt rows)
with INSERT ... SELECT over a generated series, runs VACUUM ANALYZE on PostgreSQL (as
its autovacuum would within a minute; it also clears the row versions the first
measurement's rolled-back claims left), and measures again. Prints the two side by side, the
ratio of the p99s, and the machine loop. Target: latency unchanged (within noise).

    python bench/events_volume.py [--events 1000000] [--db sqlite|postgresql|both] [--quick]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import Connection, create_engine, func, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import machine_speed  # noqa: E402
from daemon.config.loading import parse_config  # noqa: E402
from daemon.runtime.container import Container, build  # noqa: E402
from daemon.services.orders import NewOrder  # noqa: E402
from daemon.storage.migrations import upgrade  # noqa: E402
from daemon.storage.tables import events, orders  # noqa: E402
from daemon.webhooks.outbox import Outbox  # noqa: E402
from tests.support.configs import config_yaml  # noqa: E402
from tests.support.postgres import postgres_cluster  # noqa: E402
from tests.support.server import running_api  # noqa: E402

REAL_ORDERS = 200
EVENTS_PER_ORDER = 5
CHUNK = 100_000
CALLBACK = "http://127.0.0.1:9/hooks"  # never called: the dispatcher is off (no secret)
# Webhooks off (no secret), so the waiting deliveries stay waiting; callback URLs on
# loopback allowed.
EXTRA = "webhooks: {allow_private_targets: true}\n"


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="paywatch-bench-") as tmp:
            yield f"sqlite:///{tmp}/volume.db"
        return
    with postgres_cluster() as server:
        admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text('CREATE DATABASE "volume"'))
        admin.dispose()
        yield f"{server}/volume"


def spread(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p99 * 1000


def timed(call: Callable[[], object], rounds: int) -> tuple[float, float]:
    for _ in range(10):  # warm up: connections, prepared statements, caches
        call()
    samples = []
    for _ in range(rounds):
        began = time.perf_counter()
        call()
        samples.append(time.perf_counter() - began)
    return spread(samples)


def measure(c: Container, probe_order: str, rounds: int) -> dict[str, tuple[float, float]]:
    outbox = Outbox("dsp_bench", c.config.webhooks.timeout)
    now = c.clock()

    def claim() -> None:
        with c.db.engine.connect() as conn, conn.begin() as tx:
            assert outbox.claim(conn, now, 64, 32, {}), "nothing to claim"
            tx.rollback()

    out = {"claim (64 due, rolled back)": timed(claim, rounds)}
    with running_api(c) as api, httpx.Client(base_url=api.base_url, headers=api.auth) as http:

        def deliveries() -> None:
            page = http.get("/v1/webhooks/deliveries", params={"order_id": probe_order})
            page.raise_for_status()
            assert page.json()["data"], page.text

        def order() -> None:
            http.get(f"/v1/orders/{probe_order}").raise_for_status()

        out["GET /v1/webhooks/deliveries?order_id="] = timed(deliveries, rounds)
        out["GET /v1/orders/{id}"] = timed(order, rounds)
    return out


def real_orders(c: Container) -> str:
    """REAL_ORDERS orders with a waiting delivery each; the id of the first."""

    def create(conn: Connection) -> str:
        made = []
        for n in range(REAL_ORDERS):
            request = NewOrder(
                order_id=f"real-{n}",
                chain="btc",
                asset="BTC",
                amount="0.001",
                callback_url=CALLBACK,
            )
            made.append(c.orders.create(conn, request, c.clock()).view["id"])
        return str(made[0])

    return c.db.write(create)


def _series(dialect: str, start: int, stop: int) -> str:
    if dialect == "postgresql":
        return f"SELECT generate_series({start}, {stop - 1}) AS n"
    return (
        f"WITH RECURSIVE s(n) AS (SELECT {start} UNION ALL SELECT n + 1 FROM s"  # noqa: S608
        f" WHERE n + 1 < {stop}) SELECT n FROM s"
    )


def _blob(dialect: str) -> str:
    if dialect == "postgresql":
        return "decode(md5(series.n::text), 'hex')"
    return "randomblob(16)"


def bulk_insert(c: Container, count: int) -> float:
    """``count`` delivered events, five per cloned order; seconds taken."""
    dialect = c.db.dialect
    order_count = max(1, count // EVENTS_PER_ORDER)
    overrides = {
        "id": "'ord_bulk' || series.n",
        "order_id": "'bulk-' || series.n",
        "address": "'bulk' || series.n",
        "script": _blob(dialect),
        "derivation_index": "1000000000 + series.n",
        "idempotency_key": "NULL",
        "checkout_token": "'bulk' || series.n",
        "status": "'paid'",
    }
    order_columns = [col.name for col in orders.c if col.name != "seq"]
    began = time.perf_counter()
    with c.db.engine.begin() as conn:
        base = int(conn.execute(select(func.max(orders.c.seq))).scalar() or 0)
        template = int(conn.execute(select(func.min(orders.c.seq))).scalar() or 0)
        chosen = ", ".join(overrides.get(name, f"o.{name}") for name in order_columns)
        conn.execute(
            text(
                f"INSERT INTO orders ({', '.join(order_columns)}) SELECT {chosen}"  # noqa: S608
                f" FROM ({_series(dialect, 0, order_count)}) AS series, orders o"
                f" WHERE o.seq = {template}"
            )
        )
        first = int(
            conn.execute(select(func.min(orders.c.seq)).where(orders.c.seq > base)).scalar() or 0
        )
        sample = int(conn.execute(select(func.min(events.c.seq))).scalar() or 0)
    event_overrides = {
        "id": "'msg_bulk' || series.n",
        "order_seq": f"{first} + series.n / {EVENTS_PER_ORDER}",
        "delivery_status": "'delivered'",
        "attempts": "1",
        "next_attempt_at": "NULL",
        "lease_owner": "NULL",
        "lease_until": "NULL",
        "last_attempt_at": "e.created_at",
        "last_status_code": "200",
        "delivered_at": "e.created_at",
    }
    event_columns = [col.name for col in events.c if col.name != "seq"]
    chosen = ", ".join(event_overrides.get(name, f"e.{name}") for name in event_columns)
    for start in range(0, count, CHUNK):
        stop = min(count, start + CHUNK)
        with c.db.engine.begin() as conn:
            conn.execute(
                text(
                    f"INSERT INTO events ({', '.join(event_columns)}) SELECT {chosen}"  # noqa: S608
                    f" FROM ({_series(dialect, start, stop)}) AS series, events e"
                    f" WHERE e.seq = {sample}"
                )
            )
    if dialect == "postgresql":
        with c.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    return time.perf_counter() - began


def run(kind: str, count: int, rounds: int) -> None:
    with database(kind) as url:
        c = build(parse_config(config_yaml(url, extra=EXTRA)))
        try:
            upgrade(c.db.engine)
            probe = real_orders(c)
            empty = measure(c, probe, rounds)
            seconds = bulk_insert(c, count)
            total = c.db.read(lambda conn: conn.execute(select(func.count()).select_from(events)))
            print(
                f"  {kind}: {total.scalar():,} events after inserting {count:,} in {seconds:.0f} s"
            )
            full = measure(c, probe, rounds)
        finally:
            c.close()
    print(f"  {'':40s} {'empty p50/p99 ms':>18s} {f'{count:,} p50/p99 ms':>22s} {'p99 ratio':>10s}")
    for name, (p50, p99) in empty.items():
        f50, f99 = full[name]
        print(f"  {name:40s} {p50:8.2f} {p99:8.2f} {f50:11.2f} {f99:9.2f} {f99 / p99:10.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the daemon's notices (no chain watched ...)
    count, rounds = (20_000, 50) if args.quick else (args.events, args.rounds)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    print(f"events volume: claim and API latency, an empty outbox against {count:,} delivered")
    for kind in kinds:
        run(kind, count, rounds)
    print(machine_speed.report())


if __name__ == "__main__":
    main()
