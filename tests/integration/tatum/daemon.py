"""paywatch configured for chains watched through the Tatum stand-in, served in-process."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
from sqlalchemy import func, select

from daemon.runtime.container import Container
from daemon.storage.tables import events, orders, transfers
from tests.integration.tatum.conftest import API_KEY, evm_gateway
from tests.support.anvil import Anvil, free_port
from tests.support.keys import BTC_REGTEST_VPUB, ETH_XPUB
from tests.support.server import RunningApi, running_api
from tests.support.tatum_standin import TatumStandin
from tests.support.watching import temp_container

HMAC_SECRET = "paywatch-tatum-hmac-test-secret"
T = TypeVar("T")


def tatum_yaml(
    database_url: str,
    standin: TatumStandin,
    *,
    port: int,
    eth: str | None = None,
    token: str | None = None,
    ltc: str | None = None,
    poll: str = "30s",
    start_heights: dict[str, int] | None = None,
) -> str:
    """Config with an ETH chain (chain id 1, as the stand-in's anvil) and a Litecoin
    regtest chain, both ``kind: tatum`` through the stand-in's gateways."""
    starts = start_heights or {}
    text = f"""
database_url: {database_url}
api: {{listen: "127.0.0.1:{port}"}}
orders: {{expires_in: 15m, late_window: 24h}}
tatum:
  api_key: {API_KEY}
  hmac_secret: {HMAC_SECRET}
  notify_url: http://127.0.0.1:{port}/v1/tatum/notifications
  api_url: {standin.api_url}
chains:
"""
    if eth is not None:
        tokens = f'tokens: {{USDC: {{contract: "{token}", decimals: 6}}}}' if token else ""
        text += f"""  eth:
    type: evm
    chain_id: 1
    xpub: {ETH_XPUB}
    confirmations: 1
    {tokens}
    start_height: {starts.get("eth", 0)}
    backend: {{kind: tatum, url: "{eth}", poll_interval: {poll}}}
"""
    if ltc is not None:
        text += f"""  ltc:
    type: litecoin
    network: regtest
    xpub: {BTC_REGTEST_VPUB}
    address_type: p2wpkh
    confirmations: 1
    start_height: {starts.get("ltc", 0)}
    backend: {{kind: tatum, url: "{ltc}", poll_interval: {poll}}}
"""
    return text


@contextmanager
def tatum_container(standin: TatumStandin, **chains: Any) -> Iterator[Container]:
    port = free_port()
    with temp_container(lambda url: tatum_yaml(url, standin, port=port, **chains)) as container:
        yield container


@contextmanager
def tatum_daemon(standin: TatumStandin, **chains: Any) -> Iterator[RunningApi]:
    """The daemon (API, watchers, subscriptions, hints) in a thread of the test process."""
    with tatum_container(standin, **chains) as container, running_api(container) as api:
        yield api


@contextmanager
def eth_daemon(standin: TatumStandin, anvil: Anvil, *, poll: str) -> Iterator[RunningApi]:
    """The daemon watching ``anvil`` (chain id 1) through the stand-in, from its tip."""
    gateway = evm_gateway(standin, anvil)
    with tatum_daemon(
        standin, eth=gateway, poll=poll, start_heights={"eth": anvil.height()}
    ) as api:
        yield api


def subscribed(standin: TatumStandin, address: str) -> bool:
    return any(s.address.lower() == address.lower() for s in standin.subscriptions)


def create_order(api: RunningApi, chain: str, asset: str, amount: str, ref: str) -> Any:
    body = {"order_id": ref, "chain": chain, "asset": asset, "amount": amount}
    answer = httpx.post(f"{api.base_url}/v1/orders", json=body, headers=api.auth, timeout=10)
    assert answer.status_code == 201, answer.text
    return answer.json()


def get_order(api: RunningApi, public_id: str) -> Any:
    answer = httpx.get(f"{api.base_url}/v1/orders/{public_id}", headers=api.auth, timeout=10)
    return answer.json()


def eventually(probe: Callable[[], T | None], timeout: float = 20.0, what: str = "") -> T:
    """``probe()``'s first truthy answer, polling every 50 ms."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or probe}")
        time.sleep(0.05)


def snapshot(container: Container) -> tuple[Any, ...]:
    """Everything a notification could change: order states, transfers, events."""

    def read(conn: Any) -> tuple[Any, ...]:
        states = conn.execute(
            select(orders.c.id, orders.c.status, orders.c.received_base).order_by(orders.c.seq)
        ).all()
        counts = [
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (transfers, events)
        ]
        return (tuple(states), *counts)

    return container.db.read(read)
