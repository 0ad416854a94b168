"""A fresh litecoind regtest node (funded) and a fresh anvil (tests/conftest.py) per test,
and the daemon served in-process on both (shop.py). Fresh nodes: every daemon derives
the same addresses from the test keys, so a node shared between tests would carry an
earlier test's payments to them (which a new daemon rightly counts, as it looks back
from its orders' creation). SQLite unless a test asks for both databases with
``@pytest.mark.parametrize("db_kind", DATABASES)``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack

import pytest

from tests.conftest import DbFactory
from tests.integration.fiat.shop import Shop, fixed_rates_yaml, open_shop
from tests.support.anvil import Anvil
from tests.support.litecoind import Litecoind, litecoind_available, litecoind_node

ShopFactory = Callable[..., Shop]
DATABASES = ["sqlite", "postgresql"]


@pytest.fixture
def db_kind() -> str:
    return "sqlite"


@pytest.fixture
def ltc() -> Iterator[Litecoind]:
    if not litecoind_available():
        pytest.skip("litecoind missing: run ./dev setup as root")
    with litecoind_node() as node:
        node.fund()
        yield node


@pytest.fixture
def make_shop(make_database_url: DbFactory, anvil: Anvil, ltc: Litecoind) -> Iterator[ShopFactory]:
    """``make_shop(rates=..., addresses=..., tolerance=...)``: the daemon (fixed EUR and
    USD rates by default); one per test."""
    with ExitStack() as stack:

        def make(
            *, rates: str | None = None, addresses: str = "eager", tolerance: str = "0"
        ) -> Shop:
            opened: AbstractContextManager[Shop] = open_shop(
                make_database_url(),
                anvil,
                ltc,
                rates=rates or fixed_rates_yaml(),
                addresses=addresses,
                tolerance=tolerance,
            )
            return stack.enter_context(opened)

        yield make


@pytest.fixture
def shop(make_shop: ShopFactory) -> Shop:
    return make_shop()
