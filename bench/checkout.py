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
import contextlib
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import create_engine, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import machine_speed  # noqa: E402
from bench.checkout_wire import Connection, Order, Stream, open_stream  # noqa: E402
from bench.databases import KINDS, databases  # noqa: E402
from bench.orders_http import percentile  # noqa: E402
from bench.paywatch_process import Running, running  # noqa: E402
from daemon.storage import tables  # noqa: E402
from tests.support.configs import config_yaml  # noqa: E402
from tests.support.postgres import free_port  # noqa: E402

PIN = os.environ.get("BENCH_PIN", "1") == "1" and (os.cpu_count() or 1) > 1
TARGET_KB, TARGET_SERVER_MS, TARGET_PUSH_MS = 60, 20.0, 100.0
RATES = (
    "rates: {sources: [], currencies: [EUR],"
    " fixed: {BTC/EUR: '60000', ETH/EUR: '2000', USDC/EUR: '0.92'}}\n"
)
THREE = [
    {"chain": "btc", "asset": "BTC"},
    {"chain": "eth", "asset": "ETH"},
    {"chain": "eth", "asset": "USDC"},
]


def mark(met: bool) -> str:
    return "PASS" if met else "MISS"


def spread(values: list[float]) -> str:
    ordered = sorted(values)
    p50, p95, p99 = (percentile(ordered, q) for q in (0.5, 0.95, 0.99))
    return f"p50 {p50:.1f}  p95 {p95:.1f}  p99 {p99:.1f}  max {ordered[-1]:.1f} ms"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"no VmRSS for process {pid}")


def write_config(workdir: Path, url: str, port: int) -> Path:
    # api.public_url unset: checkout_url is then http://{listen}/pay/{token}.
    api = (
        f'api: {{listen: "127.0.0.1:{port}", checkout_streams: 5000,'
        " checkout_streams_per_order: 5, checkout_streams_per_minute: 100000}"
    )
    text = config_yaml(url, listen=f"127.0.0.1:{port}", extra=RATES + "log_level: warning\n")
    plain = f'api: {{listen: "127.0.0.1:{port}"}}'
    if plain not in text:
        raise SystemExit("tests/support/configs.py changed its api line")
    config = workdir / "config.yaml"
    config.write_text(text.replace(plain, api) + "metrics: {enabled: false}\n")
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


async def open_all(port: int, orders: list[Order]) -> list[Stream]:
    """One stream per order, 100 connecting at a time; each live (its first event read)."""
    streams: list[Stream] = []
    for start in range(0, len(orders), 100):
        batch = orders[start : start + 100]
        streams += await asyncio.gather(*(open_stream(port, o) for o in batch))
    return streams


@dataclass(frozen=True)
class Sample:
    order: str
    late: float  # ms the driver sent the cancel after its slot
    answered: float  # ms from sending the cancel to its answer
    pushed: float  # ms from sending the cancel to its stream's next event
    sent: float  # time.time() when the cancel was sent
    arrived: float  # time.time() when that event arrived


async def cancel_one(
    pool: asyncio.Queue[Connection], key: str, stream: Stream, slot: float
) -> Sample:
    conn = await pool.get()
    seen = len(stream.events)
    started, sent = time.perf_counter(), time.time()
    try:
        reply = await conn.post(f"/v1/orders/{stream.order.id}/cancel", key)
    finally:
        pool.put_nowait(conn)
    answered = time.perf_counter()
    if reply.status != 200:
        raise SystemExit(f"cancel {stream.order.id}: {reply.status} {reply.body[:200]!r}")
    await asyncio.wait_for(stream.beyond(seen), 30)
    event = stream.events[seen]
    return Sample(
        stream.order.id,
        (started - slot) * 1000,
        (answered - started) * 1000,
        (event.at - started) * 1000,
        sent,
        event.wall,
    )


async def verify(port: int, cancelled: list[Stream]) -> None:
    """Each cancelled order's /status: cancelled, with the last digest its stream got."""
    conn = await Connection.open(port)
    try:
        for stream in cancelled:
            reply = await conn.get(f"{stream.order.path}/status")
            found = json.loads(reply.body)
            last = stream.events[-1].data["digest"]
            if found != {"status": "cancelled", "digest": last}:
                raise SystemExit(f"order {stream.order.id}: /status {found}, last pushed {last}")
    finally:
        conn.close()


def handled(url: str, samples: list[Sample]) -> tuple[list[float], list[float]]:
    """Per cancel, in ms: from sending it to the daemon's handler taking the time (its
    order.cancelled's created_at: the handler's clock, read before the transaction), and
    from then to the push arriving here (transaction, commit, wake, digest, send)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(tables.orders.c.id, tables.events.c.created_at)
                .join(tables.events, tables.events.c.order_seq == tables.orders.c.seq)
                .where(tables.events.c.type == "order.cancelled")
            ).all()
    finally:
        engine.dispose()
    at = {str(r.id): r.created_at.timestamp() for r in rows}
    began = [at[s.order] for s in samples]
    return (
        [(b - s.sent) * 1000 for s, b in zip(samples, began, strict=True)],
        [(s.arrived - b) * 1000 for s, b in zip(samples, began, strict=True)],
    )


def cpu_seconds(pid: int) -> tuple[float, float]:
    """Seconds the process's threads ran on a CPU, and waited for one (runnable)."""
    ran = waited = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            on_cpu, queued, _ = (task / "schedstat").read_text().split()
            ran, waited = ran + int(on_cpu), waited + int(queued)
    return ran / 1e9, waited / 1e9


async def cancel_all(
    pool: asyncio.Queue[Connection], key: str, chosen: list[Stream], rate: float
) -> list[Sample]:
    """One cancel every 1/``rate`` s, each sent at its slot whatever the others are doing."""
    tasks = []
    began = time.perf_counter()
    for n, stream in enumerate(chosen):
        slot = began + n / rate
        await asyncio.sleep(max(0.0, slot - time.perf_counter()))
        tasks.append(asyncio.create_task(cancel_one(pool, key, stream, slot)))
    return list(await asyncio.gather(*tasks))


async def live(
    daemon: Running, url: str, port: int, orders: list[Order], cancels: int, rate: float
) -> None:
    before = rss_mb(daemon.pid)
    opened = time.perf_counter()
    streams = await open_all(port, orders)
    took = time.perf_counter() - opened
    held = rss_mb(daemon.pid)
    print(
        f"  event streams: {len(streams)} opened and live in {took:.1f} s;"
        f" daemon RSS {before:.0f} MB before, {held:.0f} MB with them open"
    )
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(4):
        pool.put_nowait(await Connection.open(port))
    chosen = streams[:: max(1, len(streams) // cancels)][:cancels]
    (ran, waited), began = cpu_seconds(daemon.pid), time.perf_counter()
    samples = await cancel_all(pool, daemon.key, chosen, rate)
    spent = time.perf_counter() - began
    ran, waited = (
        now - then for now, then in zip(cpu_seconds(daemon.pid), (ran, waited), strict=True)
    )
    load = os.getloadavg()[0]
    await asyncio.sleep(3.0)  # past a full look of the daemon (every 2 s)
    while not pool.empty():
        pool.get_nowait().close()
    await verify(port, chosen)
    still = sum(1 for s in streams if s.open)
    others = sum(len(s.events) - 1 for s in streams if s not in chosen)
    rss = rss_mb(daemon.pid)
    for stream in streams:
        stream.close()
    push = [s.pushed for s in samples]
    p99 = percentile(sorted(push), 0.99)
    print(f"  {len(chosen)} orders cancelled one at a time, {rate:g}/s, all streams open:")
    print(
        f"    cancel sent -> its stream's next event: {spread(push)}"
        f"   target p99 <= {TARGET_PUSH_MS:.0f} ms: {mark(p99 <= TARGET_PUSH_MS)}"
    )
    print(f"    the cancel request alone:               {spread([s.answered for s in samples])}")
    to_handler, to_push = handled(url, samples)
    print(f"    sent -> the daemon's handler began:     {spread(to_handler)}")
    print(f"    handler began -> its event arrived here: {spread(to_push)}")
    print(
        f"    the driver sent cancels late by up to {max(s.late for s in samples):.1f} ms;"
        f" the daemon ran {ran:.2f} s and waited for a CPU {waited:.2f} s in {spent:.1f} s;"
        f" load average {load:.2f} on {os.cpu_count()} cores"
    )
    print("    every cancelled order's /status: cancelled, the digest last pushed")
    print(
        f"    streams still open at the end: {still} of {len(streams)}"
        f"   {mark(still == len(streams))}; events on the other streams: {others};"
        f" daemon RSS {rss:.0f} MB"
    )


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
