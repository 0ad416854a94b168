"""EVM integration fixtures: contracts and sources on the fresh anvil each test gets
(tests/conftest.py), and the event loop they run on (tests/integration/conftest.py)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import pytest

from chains.endpoints import EndpointPool
from chains.evm.source import EvmSource, EvmSourceSettings
from chains.jsonrpc import JsonRpcClient
from tests.support.anvil import ACCOUNTS, Anvil, anvil_available, call_data
from tests.support.anvil import load_artifact as artifact

pytestmark = pytest.mark.skipif(not anvil_available(), reason="anvil missing: ./dev setup")

SourceFactory = Callable[..., EvmSource]


@pytest.fixture
def make_source(loop: asyncio.AbstractEventLoop) -> Iterator[SourceFactory]:
    made: list[EvmSource] = []

    def make(
        urls: Sequence[str],
        *,
        tokens: dict[str, str] | None = None,
        ws_url: str | None = None,
        block_time: float = 1.0,
        poll_interval: float = 0.5,
        trace_api: str = "auto",
    ) -> EvmSource:
        clients = [JsonRpcClient(u, timeout=5.0) for u in urls]
        pool = EndpointPool(
            clients, [c.url for c in clients], block_time=block_time, poll_interval=poll_interval
        )
        settings = EvmSourceSettings(
            native_symbol="ETH", tokens=tokens or {}, block_time=block_time, trace_api=trace_api
        )
        source = EvmSource(pool, settings, ws_url=ws_url, poll_interval=poll_interval)
        made.append(source)
        return source

    yield make
    for source in made:
        loop.run_until_complete(source.aclose())


@dataclass
class Contracts:
    token: str
    batch: str
    forwarder: str


@pytest.fixture
def contracts(anvil: Anvil) -> Contracts:
    token = anvil.deploy(artifact("TestToken"))
    batch = anvil.deploy(artifact("BatchPay"))
    forwarder = anvil.deploy(artifact("Forwarder"))
    anvil.send(token, 0, data=call_data("mint(address,uint256)", ACCOUNTS[0], 10**15))
    anvil.send(token, 0, data=call_data("approve(address,uint256)", batch, 2**256 - 1))
    anvil.mine()
    return Contracts(token, batch, forwarder)


def new_address() -> bytes:
    return os.urandom(20)


def hex_of(script: bytes) -> str:
    return "0x" + script.hex()
