"""A real litecoind regtest node per module, and BitcoinSource factories over it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chains.bitcoin.deriver import BitcoinDeriver
from chains.bitcoin.networks import get_network
from tests.support.keys import BTC_REGTEST_VPUB
from tests.support.litecoind import Litecoind, litecoind_available, litecoind_node

LTC_REGTEST = get_network("litecoin", "regtest")
OUTPUT_TYPES = ("p2pkh", "p2sh-p2wpkh", "p2wpkh", "p2tr")


def deriver(address_type: str) -> BitcoinDeriver:
    """The test key's receive chain on Litecoin regtest, as a given output type."""
    return BitcoinDeriver.from_config(LTC_REGTEST, xpub=BTC_REGTEST_VPUB, address_type=address_type)


@pytest.fixture(scope="module")
def node() -> Iterator[Litecoind]:
    if not litecoind_available():
        pytest.skip("litecoind missing: run ./dev setup as root")
    with litecoind_node() as started:
        started.fund()
        yield started
