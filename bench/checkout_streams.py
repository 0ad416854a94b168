"""bench/checkout.py's third part: one event stream per order, all open at once, while
orders are cancelled at a steady pace; how long each cancel took to reach its stream,
and where the time went."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, select

from bench.checkout_wire import Connection, Order, Stream, open_stream
from bench.orders_http import percentile
from bench.paywatch_process import Running
from daemon.storage import tables

TARGET_PUSH_MS = 100.0


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
    if still != len(streams):
        raise SystemExit(f"{len(streams) - still} event streams ended early")
