"""From a payment's inclusion in a block to the store receiving the verified order.paid.

Everything is a real process on loopback: `paywatch run` on SQLite, watching an anvil
started with --no-mining over WebSocket newHeads (confirmations: 1), and sending its
webhooks to a store (this script run with --store) that verifies each request with the
`standardwebhooks` library and stamps its arrival with time.time() (one machine, one
clock for every process). For each of N orders, one after another: create the order over
the API, send the payment, wait a random moment, evm_mine; t0 = when evm_mine returned
(the inclusion), t1 = when the store received that order's order.paid. Target: p95 <= 300 ms;
for 50 orders paid in one block, p95 <= 100 ms.

Baseline, in the same run: the same daemon polling (no ws_url, poll_interval 1s) for a
smaller N, printed as the ratio of the two p95s. Then a burst: M orders paid in one block.
Where the time goes is read back from the daemon's database after it stops: when the
order.paid event was written (the watcher's round) and when its delivery was attempted.

    python bench/payment_latency.py [--orders 100] [--poll-orders 20] [--burst 50] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import machine_speed  # noqa: E402
from bench.paywatch_process import running, wait_until  # noqa: E402
from tests.support.anvil import Anvil, anvil_node  # noqa: E402
from tests.support.configs import anvil_chain_yaml  # noqa: E402
from tests.support.postgres import free_port  # noqa: E402
from tests.support.receiver import Receive, Scope, Send, read_body  # noqa: E402

SECRET = "whsec_" + "bGF0ZW5jeSBiZW5jaG1hcmsgc2VjcmV0IGZvciBzdG9yZQ=="
TARGET_MS = 300.0
BURST_TARGET_MS = 100.0  # p95 of the orders paid in one block
POLL_SECONDS = 1.0
AMOUNT = "0.001"
AMOUNT_WEI = 10**15
# The daemon on one core; anvil, the store and this driver on the other.
PIN = os.environ.get("BENCH_PIN", "1") == "1" and (os.cpu_count() or 1) > 1


# --- the store: a separate process ------------------------------------------------------


class Store:
    """Verifies every webhook; remembers when each order's order.paid arrived. The driver
    asks ``GET /paid/{order id}?timeout=S``, which answers as soon as it has arrived."""

    def __init__(self, secret: str) -> None:
        from standardwebhooks.webhooks import Webhook

        self.hook = Webhook(secret)
        self.paid: dict[str, float] = {}
        self.waiters: dict[str, asyncio.Event] = {}
        self.requests = 0
        self.unverified = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        arrived = time.time()
        body = await read_body(receive)
        path: str = scope["path"]
        if scope["method"] == "POST":
            await self._reply(send, self._webhook(arrived, body, scope["headers"]))
        elif path.startswith("/paid/"):
            timeout = float(dict(_query(scope)).get("timeout", "0"))
            at = await self._wait_paid(path.removeprefix("/paid/"), timeout)
            answer = {"at": at} if at is not None else {"error": "not yet"}
            await self._reply(send, (200 if at is not None else 404, json.dumps(answer)))
        elif path == "/stats":
            stats = {"requests": self.requests, "unverified": self.unverified}
            await self._reply(send, (200, json.dumps(stats)))
        else:
            await self._reply(send, (404, "{}"))

    def _webhook(
        self, arrived: float, body: bytes, raw: list[tuple[bytes, bytes]]
    ) -> tuple[int, str]:
        from standardwebhooks.webhooks import WebhookVerificationError

        self.requests += 1
        headers = {k.decode().lower(): v.decode() for k, v in raw}
        try:
            payload = self.hook.verify(body, headers)
        except WebhookVerificationError:
            self.unverified += 1
            return 400, "{}"
        if payload.get("type") == "order.paid":
            order = str(payload["data"]["id"])
            self.paid.setdefault(order, arrived)
            waiter = self.waiters.get(order)
            if waiter is not None:
                waiter.set()
        return 200, "{}"

    async def _wait_paid(self, order: str, timeout: float) -> float | None:
        if order not in self.paid and timeout > 0:
            waiter = self.waiters.setdefault(order, asyncio.Event())
            try:
                await asyncio.wait_for(waiter.wait(), timeout)
            except TimeoutError:
                pass
            finally:
                self.waiters.pop(order, None)
        return self.paid.get(order)

    @staticmethod
    async def _reply(send: Send, answer: tuple[int, str]) -> None:
        status, text = answer
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": text.encode()})


def _query(scope: Scope) -> Iterator[tuple[str, str]]:
    for part in bytes(scope.get("query_string", b"")).decode().split("&"):
        name, _, value = part.partition("=")
        if name:
            yield name, value


def serve_store(port: int, store: Store) -> None:
    """Serve ``store`` on loopback until the process is stopped."""
    import uvicorn

    config = uvicorn.Config(
        store,
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="off",
    )
    uvicorn.Server(config).run()


# --- the driver -------------------------------------------------------------------------


def pin(core: int) -> list[str]:
    return ["taskset", "-c", str(core)] if PIN else []


@contextmanager
def store_process(script: str = __file__, *args: str) -> Iterator[str]:
    """``script --store PORT`` (this one's store by default) on the other core."""
    port = free_port()
    command = [*pin(1), sys.executable, script, "--store", str(port), *args]
    proc = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{base}/stats", timeout=1).status_code == 200, "the store")
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


def daemon_config(workdir: Path, port: int, anvil: Anvil, store: str, *, ws: bool) -> str:
    chain = anvil_chain_yaml(
        anvil.url,
        ws_url=anvil.ws_url if ws else None,
        start_height=anvil.height(),
        poll_interval=f"{POLL_SECONDS:g}s",
    )
    return f"""
database_url: sqlite:///{workdir / "paywatch.db"}
api: {{listen: "127.0.0.1:{port}"}}
metrics: {{listen: "127.0.0.1:{free_port()}"}}
log_level: warning
webhooks: {{url: "{store}/hooks", secret: "{SECRET}", allow_private_targets: true}}
{chain}"""


@dataclass
class Daemon:
    workdir: Path
    base: str
    key: str
    pid: int

    @property
    def db(self) -> Path:
        return self.workdir / "paywatch.db"


@contextmanager
def daemon_process(workdir: Path, anvil: Anvil, store: str, *, ws: bool) -> Iterator[Daemon]:
    port = free_port()
    config = workdir / "config.yaml"
    config.write_text(daemon_config(workdir, port, anvil, store, ws=ws))
    # Ready: the API answers and the watcher has caught up with the node.
    with running(config, port, pin=pin(0)) as paywatch:
        yield Daemon(workdir, paywatch.base, paywatch.key, paywatch.pid)


@dataclass(frozen=True)
class Sample:
    order: str  # paywatch's order id
    t0: float  # evm_mine returned
    t1: float  # the store received order.paid

    @property
    def ms(self) -> float:
        return (self.t1 - self.t0) * 1000


class Driver:
    def __init__(self, anvil: Anvil, daemon: Daemon, store: str) -> None:
        self.anvil = anvil
        self.api = httpx.Client(
            base_url=daemon.base, headers={"Authorization": f"Bearer {daemon.key}"}, timeout=30
        )
        self.store = httpx.Client(base_url=store, timeout=60)
        self.made = 0

    def close(self) -> None:
        self.api.close()
        self.store.close()

    def order(self) -> tuple[str, str]:
        self.made += 1
        body = {"order_id": f"lat-{self.made}", "chain": "eth", "asset": "ETH", "amount": AMOUNT}
        answer = self.api.post("/v1/orders", json=body)
        if answer.status_code != 201:
            raise SystemExit(f"POST /v1/orders: {answer.status_code} {answer.text}")
        made = answer.json()
        return str(made["id"]), str(made["address"])

    def arrival(self, order: str) -> float:
        answer = self.store.get(f"/paid/{order}", params={"timeout": 30})
        if answer.status_code != 200:
            raise SystemExit(f"order {order}: no order.paid reached the store within 30 s")
        return float(answer.json()["at"])

    def one_by_one(self, count: int, gap: float) -> list[Sample]:
        """Each order paid in its own block, mined after a random pause of up to ``gap``
        (so that inclusions fall at random moments of the daemon's own cycles)."""
        samples = []
        for _ in range(count):
            order, address = self.order()
            self.anvil.send(address, AMOUNT_WEI, wait=False)
            time.sleep(random.uniform(0, gap))
            self.anvil.rpc("evm_mine")
            t0 = time.time()
            samples.append(Sample(order, t0, self.arrival(order)))
        return samples

    def burst(self, count: int) -> list[Sample]:
        """``count`` orders paid in one block."""
        made = [self.order() for _ in range(count)]
        for _, address in made:
            self.anvil.send(address, AMOUNT_WEI, wait=False)
        time.sleep(0.2)
        self.anvil.rpc("evm_mine")
        t0 = time.time()
        return [Sample(order, t0, self.arrival(order)) for order, _ in made]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def spread(values: list[float]) -> str:
    p50, p95, p99 = (percentile(values, q) for q in (0.5, 0.95, 0.99))
    return f"p50 {p50:6.1f}  p95 {p95:6.1f}  p99 {p99:6.1f}  max {max(values):6.1f} ms"


def _utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


STAGES = {
    "watcher": "inclusion -> order.paid written (wake, fetch, match)",
    "claim": "written -> the block's first event sent (commit, wake, claim)",
    "chain": "first event sent -> order.paid sent (earlier events of the order first)",
    "send": "order.paid sent -> the store has it (sign, POST)",
}


def stages(db: Path, samples: list[Sample]) -> dict[str, list[float]]:
    """Per order, from the daemon's database: when the watcher wrote order.paid (its clock
    inside the transaction), when the first event of that transaction was sent (the
    outbox sends an order's events in order: order.payment_detected and
    order.payment_confirmed go first) and when order.paid was."""
    out: dict[str, list[float]] = {name: [] for name in STAGES}
    with sqlite3.connect(db) as conn:
        for s in samples:
            rows = conn.execute(
                "SELECT e.type, e.created_at, min(a.attempted_at) FROM events e"
                " JOIN orders o ON o.seq = e.order_seq"
                " LEFT JOIN webhook_attempts a ON a.event_seq = e.seq"
                " WHERE o.id = ? GROUP BY e.seq ORDER BY e.seq",
                (s.order,),
            ).fetchall()
            paid = [r for r in rows if r[0] == "order.paid" and r[2] is not None]
            if not paid:
                continue
            written, sent = _utc(paid[0][1]), _utc(paid[0][2])
            first = min(_utc(r[2]) for r in rows if r[1] == paid[0][1] and r[2] is not None)
            out["watcher"].append((written - s.t0) * 1000)
            out["claim"].append((first - written) * 1000)
            out["chain"].append((sent - first) * 1000)
            out["send"].append((s.t1 - sent) * 1000)
    return out


def print_stages(db: Path, samples: list[Sample]) -> None:
    parts = stages(db, samples)
    if not parts["watcher"]:
        return
    for name, label in STAGES.items():
        values = parts[name]
        print(f"    {label}: median {statistics.median(values):.1f}, max {max(values):.1f} ms")


def run_phase(
    tmp: Path, anvil: Anvil, store: str, *, ws: bool, count: int, gap: float, burst: int = 0
) -> tuple[list[Sample], list[Sample]]:
    workdir = tmp / ("ws" if ws else "poll")
    workdir.mkdir()
    with daemon_process(workdir, anvil, store, ws=ws) as daemon:
        driver = Driver(anvil, daemon, store)
        try:
            driver.one_by_one(2, gap)  # warm up: connections, first claims
            samples = driver.one_by_one(count, gap)
            bursts = driver.burst(burst) if burst else []
        finally:
            driver.close()
    how = "WebSocket newHeads" if ws else f"polling every {POLL_SECONDS:g} s"
    print(f"  {how}: {len(samples)} orders, one per block")
    values = [s.ms for s in samples]
    print(f"    inclusion -> order.paid at the store: {spread(values)}")
    print_stages(daemon.db, samples)
    if bursts:
        print(f"  {how}: {len(bursts)} orders paid in one block")
        print(f"    inclusion -> order.paid at the store: {spread([s.ms for s in bursts])}")
        print_stages(daemon.db, bursts)
    return samples, bursts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=100)
    parser.add_argument("--poll-orders", type=int, default=20)
    parser.add_argument("--burst", type=int, default=50, help="orders paid in one block (0: none)")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--store", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--secret", default=SECRET, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.store is not None:
        serve_store(args.store, Store(args.secret))
        return
    count, poll_count, burst = (
        (10, 3, 5) if args.quick else (args.orders, args.poll_orders, args.burst)
    )
    if PIN:
        os.sched_setaffinity(0, {1})
    print("payment latency: inclusion (evm_mine returned) -> the store received order.paid")
    print("  paywatch run on SQLite, anvil --no-mining, confirmations: 1, a verifying store")
    with (
        tempfile.TemporaryDirectory(prefix="paywatch-bench-") as tmp,
        anvil_node("--no-mining") as anvil,
        store_process(__file__, "--secret", SECRET) as store,
    ):
        if PIN and anvil.process is not None:
            os.sched_setaffinity(anvil.process.pid, {1})
        ws, bursts = run_phase(Path(tmp), anvil, store, ws=True, count=count, gap=0.1, burst=burst)
        poll, _ = run_phase(Path(tmp), anvil, store, ws=False, count=poll_count, gap=POLL_SECONDS)
        stats = httpx.get(f"{store}/stats", timeout=10).json()
    ws_p95 = percentile([s.ms for s in ws], 0.95)
    poll_p95 = percentile([s.ms for s in poll], 0.95)
    met = "met" if ws_p95 <= TARGET_MS else "MISSED"
    print(f"  target: p95 <= {TARGET_MS:.0f} ms: {met}; p95/target = {ws_p95 / TARGET_MS:.2f}")
    if bursts:
        burst_p95 = percentile([s.ms for s in bursts], 0.95)
        met = "met" if burst_p95 <= BURST_TARGET_MS else "MISSED"
        print(
            f"  burst target: {len(bursts)} in one block, p95 {burst_p95:.1f} ms"
            f" <= {BURST_TARGET_MS:.0f} ms: {met}"
        )
    print(
        f"  baseline: p95 over newHeads / p95 polling every {POLL_SECONDS:g} s ="
        f" {ws_p95:.1f} / {poll_p95:.1f} = {ws_p95 / poll_p95:.2f}"
    )
    print(f"  store: {stats['requests']} webhooks, {stats['unverified']} failed verification")
    print(machine_speed.report())
    if stats["unverified"]:
        raise SystemExit("webhooks failed standardwebhooks verification")


if __name__ == "__main__":
    main()
