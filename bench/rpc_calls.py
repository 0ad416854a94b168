"""JSON-RPC calls per block that `paywatch run` asks of its node, with 10 and 1,000 open
orders, on a node with a trace API (anvil's trace_block) and without (trace_api: none),
polling and with a WebSocket (``ws_url``: newHeads as the trigger, polling as a slow
safety net).

For each node and order count, two `paywatch run` (SQLite), one polling and one with
the node's WebSocket, watch one anvil chain side by side, each through its own counting
JSON-RPC proxy (this script, a thread; the WebSocket goes to anvil directly: what it
triggers over HTTP is counted). The clock is compressed five times: 12 s blocks and a
5 s poll become blocks mined every 2.4 s and a 1 s poll; the balance check's rounds and
its check after creation (1 min each) become 12 s. For each case: fresh databases, the
daemons started, N orders made on each over the API (expiring in an hour), a wait until
their checks after creation are done (the calls they cost are printed per order), then
the calls counted over the same B blocks. Target: <= 4.4 calls per block in every case,
the same at 1,000 open orders as at 10 (what Bitcart's ETH daemon asks on the same
setup), and with a WebSocket no more than polling.

    python bench/rpc_calls.py [--quick] [--blocks B]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import machine_speed  # noqa: E402
from bench.paywatch_process import running  # noqa: E402
from tests.support.anvil import Anvil, anvil_node  # noqa: E402
from tests.support.configs import anvil_chain_yaml  # noqa: E402
from tests.support.postgres import free_port  # noqa: E402

SCALE = 5  # real seconds per bench second
BLOCK_SECONDS = 12 / SCALE
CHECK_SECONDS = 60 // SCALE  # balance_check_interval and balance_check_after
QUICK_CHECK_SECONDS = 3
FIRST_ROUND_SECONDS = 6  # the daemon's first balance-check round (every open order)
TARGET = 4.4
BALANCE_METHODS = ("eth_getBalance", "eth_getTransactionCount")


class CountingProxy:
    """Forwards each POST to the node; counts HTTP requests and JSON-RPC calls by method."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.requests = 0
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.http = httpx.Client(timeout=30.0)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    parsed = json.loads(body)
                except ValueError:
                    parsed = None
                items = parsed if isinstance(parsed, list) else [parsed]
                with proxy.lock:
                    proxy.requests += 1
                    proxy.calls.update(str(i.get("method")) for i in items if isinstance(i, dict))
                answer = proxy.http.post(
                    proxy.upstream, content=body, headers={"Content-Type": "application/json"}
                )
                self.send_response(answer.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def take(self) -> tuple[int, Counter[str]]:
        """The counts since the last take, and zero them."""
        with self.lock:
            taken = self.requests, self.calls
            self.requests, self.calls = 0, Counter()
        return taken

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.http.close()


@contextmanager
def daemon(
    workdir: Path, anvil: Anvil, proxy: CountingProxy, trace: str, check: int, ws: bool
) -> Iterator[tuple[str, str]]:
    port = free_port()
    ws_url = anvil.ws_url if ws else None
    chain = anvil_chain_yaml(
        proxy.url, ws_url=ws_url, start_height=anvil.height(), poll_interval="1s"
    )
    chain += f"    trace_api: {trace}\n"
    chain += f"    balance_check_interval: {check}s\n"
    chain += f"    balance_check_after: {check}s\n"
    config = workdir / "config.yaml"
    config.write_text(
        f"database_url: sqlite:///{workdir / 'paywatch.db'}\n"
        f'api: {{listen: "127.0.0.1:{port}"}}\nlog_level: warning\n'
        f"orders: {{expires_in: 1h}}\n{chain}"
    )
    with running(config, port, ready_seconds=60.0) as paywatch:
        yield paywatch.base, paywatch.key


def mine_for(anvil: Anvil, blocks: int) -> None:
    """``blocks`` blocks, one every BLOCK_SECONDS."""
    next_at = time.monotonic()
    for _ in range(blocks):
        next_at += BLOCK_SECONDS
        time.sleep(max(0.0, next_at - time.monotonic()))
        anvil.mine()


MODES = (("polling", False), ("WebSocket", True))


def run_case(
    anvil: Anvil, trace: str, orders: int, blocks: int, check: int
) -> dict[str, dict[str, Any]]:
    """Both modes side by side over the same blocks: mode -> its figures."""
    proxies = {mode: CountingProxy(anvil.url) for mode, _ in MODES}
    with ExitStack() as stack:
        apis = {}
        for mode, ws in MODES:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            apis[mode] = stack.enter_context(
                daemon(workdir, anvil, proxies[mode], trace, check, ws)
            )
        time.sleep(FIRST_ROUND_SECONDS)  # orders made after it: only their own moments count
        for base, key in apis.values():
            auth = {"Authorization": f"Bearer {key}"}
            with httpx.Client(base_url=base, headers=auth, timeout=30) as api:
                for i in range(orders):
                    body = {"order_id": f"B-{i}", "chain": "eth", "asset": "ETH", "amount": "0.01"}
                    api.post("/v1/orders", json=body).raise_for_status()
        # Every order's check after creation falls in the next two rounds.
        mine_for(anvil, int((2 * check + 2) / BLOCK_SECONDS) + 1)
        setups = {mode: proxy.take()[1] for mode, proxy in proxies.items()}
        mine_for(anvil, blocks)
        counted = {mode: proxy.take() for mode, proxy in proxies.items()}
    out = {}
    for mode, proxy in proxies.items():
        proxy.close()
        requests, calls = counted[mode]
        setup = setups[mode]
        out[mode] = {
            "calls": sum(calls.values()) / blocks,
            "requests": requests / blocks,
            "balance": sum(calls[m] for m in BALANCE_METHODS) / blocks,
            "per_order": sum(setup[m] for m in BALANCE_METHODS) / orders,
            "methods": dict(calls),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="100 orders, fewer blocks")
    parser.add_argument("--blocks", type=int, default=None)
    args = parser.parse_args()
    blocks = args.blocks or (4 if args.quick else 25)
    sizes = (10, 100) if args.quick else (10, 1000)
    check = QUICK_CHECK_SECONDS if args.quick else CHECK_SECONDS
    print(f"blocks every {BLOCK_SECONDS:g} s, poll 1 s (12 s and 5 s compressed {SCALE}x);")
    print(f"balance check rounds and check after creation: {check} s; {blocks} blocks")
    rows = []
    with anvil_node() as anvil:
        for trace, label in (("auto", "trace API"), ("none", "no trace API")):
            for n in sizes:
                for mode, r in run_case(anvil, trace, n, blocks, check).items():
                    rows.append((label, n, mode, r))
                    print(f"  measured: {label}, {n} orders, {mode}: {r['methods']}", flush=True)
    print()
    print(
        f"{'node':<14}{'open orders':>12}{'watching':>11}{'JSON-RPC calls/block':>22}"
        f"{'HTTP requests/block':>21}{'balance calls/block':>21}{'per order created':>19}"
    )
    for label, n, mode, r in rows:
        print(
            f"{label:<14}{n:>12}{mode:>11}{r['calls']:>22.2f}{r['requests']:>21.2f}"
            f"{r['balance']:>21.2f}{r['per_order']:>19.2f}"
        )
    print("per order created: balance calls of its check after creation; over its whole")
    print("life at most 3 checks (after creation, expiry, late window's end) x 2 calls")
    worst = max(r["calls"] for *_, r in rows)
    print(f"\nworst: {worst:.2f} JSON-RPC calls/block (target <= {TARGET})")
    by_case = {(label, n, mode): r["calls"] for label, n, mode, r in rows}
    ws_over = [
        f"{label}, {n} orders"
        for label, n, mode, r in rows
        if mode == "polling" and by_case[(label, n, "WebSocket")] > r["calls"]
    ]
    print(
        f"WebSocket <= polling: {'every case' if not ws_over else 'not in ' + '; '.join(ws_over)}"
    )
    print(machine_speed.report())


if __name__ == "__main__":
    main()
