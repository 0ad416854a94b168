"""POST /v1/orders against the running daemon, over real HTTP.

Starts `paywatch run` as its own process (pinned to one core), drives it from
this process (pinned to the other) over keep-alive connections, and prints
sustained orders/s and latency percentiles, run after run, each on a fresh database:
SQLite (the target: >= 1,500 orders/s with p99 <= 25 ms in every run), then
PostgreSQL, stated beside it. The machine-speed loop is printed in the same run.

    python bench/orders_http.py [--seconds 15] [--connections 8] [--runs 3]
                                [--db sqlite|postgresql|both] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import machine_speed  # noqa: E402
from bench.databases import KINDS, databases  # noqa: E402
from tests.support.configs import config_yaml  # noqa: E402
from tests.support.postgres import free_port  # noqa: E402

PAYWATCH = str(Path(sys.executable).parent / "paywatch")
PIN = os.environ.get("BENCH_PIN", "1") == "1"


TARGET_RATE, TARGET_P99_MS = 1500, 25.0


def start_daemon(workdir: Path, url: str) -> tuple[subprocess.Popen[bytes], str, str]:
    port = free_port()
    config = workdir / "config.yaml"
    config.write_text(config_yaml(url, listen=f"127.0.0.1:{port}"))
    env = {**os.environ, "PAYWATCH_CONFIG": str(config)}
    subprocess.run([PAYWATCH, "db", "upgrade"], env=env, check=True, capture_output=True)
    made = subprocess.run(
        [PAYWATCH, "apikey", "create", "--json"], env=env, check=True, capture_output=True
    )
    key = json.loads(made.stdout)["key"]
    pin = ["taskset", "-c", "0"] if PIN and (os.cpu_count() or 1) > 1 else []
    proc = subprocess.Popen([*pin, PAYWATCH, "run"], env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base, key
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the daemon did not start")


async def post_order(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, key: str, body: dict[str, Any]
) -> int:
    """One POST /v1/orders on a keep-alive connection; the answer's status."""
    payload = json.dumps(body).encode()
    request = (
        f"POST /v1/orders HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await reader.readexactly(length)
    return int(head[9:12])


async def connection(
    port: int, key: str, prefix: str, deadline: float, latencies: list[float], codes: dict[int, int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    n = 0
    try:
        while time.perf_counter() < deadline:
            n += 1
            body = {
                "order_id": f"{prefix}-{n}",
                "chain": "btc" if n % 2 else "eth",
                "asset": "BTC" if n % 2 else "ETH",
                "amount": "0.015",
            }
            start = time.perf_counter()
            status = await post_order(reader, writer, key, body)
            latencies.append(time.perf_counter() - start)
            codes[status] = codes.get(status, 0) + 1
    finally:
        writer.close()


async def load(
    ports: Sequence[int], key: str, seconds: float, conns: int, tag: str
) -> tuple[list[float], dict[int, int], float]:
    """``conns`` connections spread round-robin over ``ports`` for ``seconds``."""
    latencies: list[float] = []
    codes: dict[int, int] = {}
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(
        *(
            connection(ports[c % len(ports)], key, f"{tag}{c}", deadline, latencies, codes)
            for c in range(conns)
        )
    )
    return latencies, codes, time.perf_counter() - start


def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def one_run(url: str, seconds: float, conns: int) -> tuple[float, list[float], str]:
    """orders/s and the sorted latencies of one run on the database at ``url``."""
    with tempfile.TemporaryDirectory(prefix="paywatch-bench-") as tmp:
        proc, base, key = start_daemon(Path(tmp), url)
        port = int(base.rsplit(":", 1)[1])
        try:
            asyncio.run(load([port], key, 1.0, conns, "warm"))
            latencies, codes, elapsed = asyncio.run(load([port], key, seconds, conns, "run"))
        finally:
            proc.terminate()
            proc.wait(10)
    engine = create_engine(url)
    with engine.connect() as db:
        stored = db.execute(text("SELECT count(*) FROM orders WHERE order_id LIKE 'run%'"))
        events = db.execute(
            text(
                "SELECT count(*) FROM events JOIN orders ON orders.seq = events.order_seq "
                "WHERE order_id LIKE 'run%'"
            )
        )
        counts = (stored.scalar_one(), events.scalar_one())
    engine.dispose()
    created = codes.get(201, 0)
    if counts != (created, created):
        raise SystemExit(f"orders were lost: {created} answered 201, stored/events {counts}")
    latencies.sort()
    return created / elapsed, latencies, f"{created} created (status codes {codes}), all stored"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", choices=[*KINDS, "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    args = parser.parse_args()
    seconds, runs = (2.0, 1) if args.quick else (args.seconds, args.runs)
    if PIN and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})
    kinds = list(KINDS) if args.db == "both" else [args.db]
    print(f"POST /v1/orders, {args.connections} keep-alive connections, {seconds:.0f} s a run")
    for kind in kinds:
        with databases(kind) as urls:
            for n in range(runs):
                rate, latencies, counted = one_run(next(urls), seconds, args.connections)
                p50, p95, p99 = (percentile(latencies, q) * 1000 for q in (0.5, 0.95, 0.99))
                met = rate >= TARGET_RATE and p99 <= TARGET_P99_MS
                target = f"target >= {TARGET_RATE:,}/s, p99 <= {TARGET_P99_MS:.0f} ms: "
                target += verdict(met) if kind == "sqlite" else "stated beside SQLite"
                print(
                    f"  {kind} run {n + 1}: {rate:,.0f} orders/s, p50 {p50:.1f} ms,"
                    f" p95 {p95:.1f} ms, p99 {p99:.1f} ms, max {latencies[-1] * 1000:.1f} ms"
                    f"   ({target}); {counted}"
                )
    print(machine_speed.report())


if __name__ == "__main__":
    main()
