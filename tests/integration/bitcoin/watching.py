"""A daemon container with regtest Bitcoin- and Litecoin-typed chains on one litecoind,
and the chain watchers that follow it (driven step by step with ``sync_once``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select

from chains.bitcoin.deriver import BitcoinDeriver
from chains.bitcoin.networks import get_network
from daemon.runtime.container import Container
from daemon.services.order_records import load_order
from daemon.services.order_shape import Order as OrderView
from daemon.services.orders import NewOrder
from daemon.storage.tables import orders
from daemon.watching.engine import ChainWatcher
from tests.support.configs import config_yaml
from tests.support.events import event_types
from tests.support.keys import BTC_REGTEST_VPUB
from tests.support.litecoind import Litecoind
from tests.support.single import index_of
from tests.support.watching import chain_watcher, temp_container

# chain name -> (type, address type): different output types, so no script is shared.
CHAINS = {"btcreg": ("bitcoin", "p2wpkh"), "ltcreg": ("litecoin", "p2sh-p2wpkh")}
LTC_REGTEST = get_network("litecoin", "regtest")


def chains_yaml(node: Litecoind) -> str:
    text = ""
    for name, (kind, address_type) in CHAINS.items():
        text += f"""  {name}:
    type: {kind}
    network: regtest
    xpub: {BTC_REGTEST_VPUB}
    address_type: {address_type}
    confirmations: 2
    backend: {{kind: rpc, url: "{node.url}", user: {node.user}, password: {node.password}}}
"""
    return text


@contextmanager
def watched_container(node: Litecoind) -> Iterator[Container]:
    with temp_container(lambda url: config_yaml(url, extra=chains_yaml(node))) as container:
        yield container


def watcher(container: Container, node: Litecoind, chain: str) -> ChainWatcher:
    return chain_watcher(container, chain, start_height=node.height())


class Order:
    """An order as the tests see it: where litecoind pays it, and its state now."""

    def __init__(self, container: Container, chain: str, amount_base: int, n: int) -> None:
        self.container = container
        request = NewOrder(
            order_id=f"{chain}-{n}", chain=chain, asset=_symbol(chain), amount_base=str(amount_base)
        )
        view = container.db.write(lambda c: container.orders.create(c, request, container.clock()))
        self.id: str = view.view["id"]
        self.amount_base = amount_base
        row = container.db.read(
            lambda c: c.execute(select(orders.c.script).where(orders.c.id == self.id)).one()
        )
        self.script: bytes = row.script
        address_type = CHAINS[chain][1]
        # Litecoin's regtest encoding of the same script (for a bitcoin-typed chain too).
        derived = BitcoinDeriver.from_config(
            LTC_REGTEST, xpub=BTC_REGTEST_VPUB, address_type=address_type
        ).derive(index_of(view.view))
        assert derived.script == self.script
        self.pay_to = derived.address

    def state(self) -> OrderView:
        return self.container.db.read(lambda c: self.container.orders.get(c, self.id))

    def events(self) -> list[str]:
        def read(conn: Any) -> list[str]:
            record = load_order(conn, self.id)
            assert record is not None
            return [str(t) for t in event_types(conn, record)]

        return self.container.db.read(read)


def _symbol(chain: str) -> str:
    return "BTC" if CHAINS[chain][0] == "bitcoin" else "LTC"
