"""A chain family of the test's own, registered from outside ``daemon/``, runs through
the API and the watcher engine like the built-in ones: the registry is the one place
that knows the families."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Literal

import httpx
import pytest
from pydantic import BaseModel, Field
from sqlalchemy import select

from chains.base import DerivedAddress
from chains.reconciliation import Reconciler
from chains.tatum.networks import TatumNetwork
from chains.watching import ChainSource, Payment
from daemon.config.loading import ConfigError
from daemon.config.schema import BackendConfig, Section
from daemon.families.base import Gateway
from daemon.families.registry import register, unregister
from daemon.services.order_changes import OrderChanges
from daemon.services.registry import Asset, ChainInfo
from daemon.storage.database import Database
from daemon.storage.tables import events
from daemon.watching.balance_check import BalanceCheck
from daemon.watching.hooks import WatchHooks
from tests.integration.conftest import ContainerFactory
from tests.support.model_chain import ModelChain
from tests.support.server import running_api


class ToyChainConfig(Section):
    type: Literal["toy"]
    seed: str
    confirmations: int = Field(default=2, ge=0)
    start_height: int | None = 0
    block_time: timedelta | None = None
    backend: BackendConfig = Field(default_factory=BackendConfig)

    @property
    def confirmations_policy(self) -> int | None:
        return self.confirmations


class ToyDeriver:
    """Addresses ``toy1<hex>`` whose script is the hash of the seed and the index."""

    def __init__(self, seed: str) -> None:
        self.seed = seed

    @property
    def keyspace(self) -> str:
        return f"toy:{self.seed}"

    def derive(self, index: int) -> DerivedAddress:
        script = hashlib.sha256(f"{self.seed}:{index}".encode()).digest()[:20]
        return DerivedAddress(index, "toy1" + script.hex(), script)

    def derive_many(self, start: int, count: int) -> list[DerivedAddress]:
        return [self.derive(i) for i in range(start, start + count)]


def toy_script(address: str) -> bytes:
    if not address.startswith("toy1"):
        raise ValueError(f"{address!r} is not a toy address")
    return bytes.fromhex(address[4:])


class ToyFamily:
    models: tuple[type[BaseModel], ...] = (ToyChainConfig,)
    start_margin = timedelta(0)

    def chain(self, name: str, config: ToyChainConfig) -> ChainInfo:
        native = Asset("TOY", 8)
        return ChainInfo(
            name=name,
            kind=config.type,
            deriver=ToyDeriver(config.seed),
            native=native,
            default_confirmations=config.confirmations,
            uri=lambda address, asset, amount: f"toy:{address}?amount={amount}",
            _assets={native.symbol: native},
        )

    def assets(self, config: ToyChainConfig) -> list[str]:
        return ["TOY"]

    def script_of(self, config: ToyChainConfig) -> Callable[[str], bytes]:
        return toy_script

    def node_source(self, name: str, config: ToyChainConfig, hooks: WatchHooks) -> ChainSource:
        return ModelChain(with_mempool=False)  # the in-memory node

    def tatum_network(self, config: ToyChainConfig) -> TatumNetwork | None:
        return None

    def network_label(self, config: ToyChainConfig) -> str:
        return "toy"

    def gateway_source(
        self, name: str, config: ToyChainConfig, gateway: Gateway, hooks: WatchHooks
    ) -> ChainSource:
        raise ConfigError([f"chains.{name}.backend.kind: toy chains have no gateway"])

    def balance_check(
        self,
        name: str,
        config: ToyChainConfig,
        source: ChainSource,
        db: Database,
        changes: OrderChanges,
        clock: Callable[[], datetime],
        on_credit: Callable[[str, str, int], None] | None,
    ) -> BalanceCheck | None:
        return None

    def reconciler(self, config: ToyChainConfig, source: ChainSource) -> Reconciler | None:
        return None


TOY = ToyFamily()
TOY_CHAIN = """  toy:
    type: toy
    seed: fixed-seed
    backend: {url: "memory://toy"}
"""


@pytest.fixture
def toy_registered() -> Iterator[None]:
    register(TOY)
    try:
        yield
    finally:
        unregister(TOY)


# SQLite: the test runs the watcher itself, between two runs of the API, and on
# PostgreSQL the chain's lease would be the stopped server's (the engine on PostgreSQL is
# tested with the built-in families).
@pytest.mark.parametrize("db_kind", ["sqlite"])
@pytest.mark.usefixtures("toy_registered")
def test_a_family_registered_from_outside_is_paid_through_api_and_engine(
    make_container: ContainerFactory, db_kind: str
) -> None:
    container = make_container(extra=TOY_CHAIN)
    with (
        running_api(container) as api,
        httpx.Client(base_url=api.base_url, headers=api.auth, timeout=10) as client,
    ):
        created = client.post(
            "/v1/orders", json={"order_id": "T-1", "chain": "toy", "asset": "TOY", "amount": "1.5"}
        )
        assert created.status_code == 201, created.text
        order = created.json()
    first = ToyDeriver("fixed-seed").derive(0)
    assert order["address"] == first.address
    assert order["payment_uri"] == f"toy:{first.address}?amount=150000000"

    watcher = container.watchers["toy"]
    node = watcher.source
    assert isinstance(node, ModelChain)
    node.send("tx-1", [Payment("tx-1", 0, toy_script(order["address"]), "TOY", 150_000_000)])
    node.mine()
    node.mine()  # two confirmations, as the chain's config asks
    asyncio.run(watcher.sync_once())

    with (
        running_api(container) as api,
        httpx.Client(base_url=api.base_url, headers=api.auth, timeout=10) as client,
    ):
        seen = client.get(f"/v1/orders/{order['id']}").json()
    assert seen["status"] == "paid", seen
    assert seen["received_confirmed_base"] == 150_000_000
    assert [(p["tx_hash"], p["confirmations"]) for p in seen["payments"]] == [("tx-1", 2)]
    with container.db.reading() as conn:
        types = [row.type for row in conn.execute(select(events.c.type).order_by(events.c.seq))]
    assert "order.paid" in types, types


def test_a_type_taken_twice_is_refused(toy_registered: None) -> None:
    with pytest.raises(ValueError, match="toy"):
        register(TOY)
