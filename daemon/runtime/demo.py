"""``paywatch demo``: the daemon on embedded defaults, driven over its own HTTP API.

Until the chain watchers land it shows the order side: configured chains,
derived addresses, orders created, listed, shown as QR and cancelled.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import click
import httpx

from daemon.config.loading import parse_config
from daemon.runtime.container import build
from daemon.runtime.server import serve
from daemon.services.apikeys import create_key
from daemon.storage.migrations import upgrade

# Public keys of the well-known test mnemonic "abandon ... about" (never use it for money):
# BIP-84 regtest account 0 and BIP-44 Ethereum account 0.
DEMO_BTC_KEY = (
    "vpub5Y6cjg78GGuNLsaPhmYsiw4gYX3HoQiRBiSwDaBXKUafCt9bNwWQiitDk5VZ5BVxYnQdwoTyX"
    "Ss2JHRPAgjAvtbBrf8ZhDYe2jWAqvZVnsc"
)
DEMO_ETH_KEY = (
    "xpub6DCoCpSuQZB2jawqnGMEPS63ePKWkwWPH4TU45Q7LPXWuNd8TMtVxRrgjtEshuqpK3mdhaWHP"
    "FsBngh5GFZaM6si3yZdUsT8ddYM3PwnATt"
)
DEMO_CONFIG = """
database_url: sqlite:///{db}
api: {{listen: 127.0.0.1:{port}}}
orders: {{expires_in: 15m, late_window: 24h}}
chains:
  btc:
    type: bitcoin
    network: regtest
    xpub: {btc_key}
    confirmations: 1
  eth:
    type: evm
    chain_id: 31337
    xpub: {eth_key}
    confirmations: 1
    native: {{symbol: ETH, decimals: 18}}
    tokens: {{USDC: {{contract: "0x5FbDB2315678afecb367f032d93F642f64180aa3", decimals: 6}}}}
"""

ORDERS = [
    {"order_id": "demo-1001", "chain": "btc", "asset": "BTC", "amount": "0.0015"},
    {"order_id": "demo-1002", "chain": "eth", "asset": "ETH", "amount": "0.25"},
    {"order_id": "demo-1003", "chain": "eth", "asset": "USDC", "amount": "49.99"},
]


def _line(view: dict[str, Any]) -> str:
    return (
        f"  {view['id']}  {view['order_id']:<10} {view['amount']:>8} {view['asset']:<5}"
        f" {view['status']:<10} {view['address']}"
    )


async def _drive(base_url: str, key: str, stop: asyncio.Event, keep_running: bool) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=10) as client:
        click.echo(f"\npaywatch demo: the API is up at {base_url}\n")
        click.echo("Creating orders over HTTP (POST /v1/orders):")
        created = []
        for body in ORDERS:
            resp = await client.post(
                "/v1/orders", json=body, headers={"Idempotency-Key": body["order_id"]}
            )
            resp.raise_for_status()
            created.append(resp.json())
            click.echo(_line(created[-1]))
            click.echo(f"      pay with: {created[-1]['payment_uri']}")
        again = await client.post(
            "/v1/orders", json=ORDERS[0], headers={"Idempotency-Key": "demo-1001"}
        )
        click.echo(
            f"\nRetrying the first request with the same Idempotency-Key returns the same order: "
            f"{again.json()['id'] == created[0]['id']}"
        )
        qr = await client.get(f"/v1/orders/{created[0]['id']}/qr.svg")
        click.echo(
            f"QR code of its payment URI: GET /v1/orders/{{id}}/qr.svg"
            f" -> {len(qr.content)} bytes of SVG"
        )
        cancelled = (await client.post(f"/v1/orders/{created[2]['id']}/cancel")).json()
        click.echo(f"Cancelled {cancelled['order_id']}: status {cancelled['status']}")
        bad = await client.post("/v1/orders", json={**ORDERS[0], "amount": "0.000000001"})
        click.echo(
            f"A bad request is refused with {bad.status_code}: {bad.json()['error']['message']}"
        )
        listing = (await client.get("/v1/orders", params={"limit": 10})).json()
        click.echo("\nGET /v1/orders:")
        for view in listing["data"]:
            click.echo(_line(view))
    if keep_running:
        click.echo(f"\nThe daemon keeps running at {base_url} (API key above); Ctrl-C stops it.")
        click.echo(f"  curl -H 'Authorization: Bearer {key}' {base_url}/v1/orders")
    else:
        click.echo("\nDemo finished. Chain watching and webhooks arrive with the next releases.")
        stop.set()


async def run_demo(
    workdir: Path | None = None, *, keep_running: bool = False, port: int = 0
) -> None:
    with tempfile.TemporaryDirectory(prefix="paywatch-demo-") as tmp:
        base = workdir or Path(tmp)
        config = parse_config(
            DEMO_CONFIG.format(
                db=base / "paywatch.db", port=port, btc_key=DEMO_BTC_KEY, eth_key=DEMO_ETH_KEY
            ),
            source="demo",
        )
        container = build(config)
        try:
            await asyncio.to_thread(upgrade, container.db.engine)
            _, key = container.db.write(lambda conn: create_key(conn, "demo", container.clock()))
            stop = asyncio.Event()

            async def ready(host: str, bound: int) -> None:
                await _drive(f"http://{host}:{bound}", key, stop, keep_running)

            await serve(container, migrate=False, on_ready=ready, shutdown=stop)
        finally:
            container.close()
