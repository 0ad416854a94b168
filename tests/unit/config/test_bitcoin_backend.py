"""Config → BitcoinSource: what is accepted, and errors that name the key (nothing connects)."""

from __future__ import annotations

import asyncio

import pytest

from chains.bitcoin.source import BitcoinSource
from daemon.config.loading import ConfigError
from daemon.config.schema import BitcoinChainConfig
from daemon.watching.bitcoin_backend import build_bitcoin_source
from tests.support.keys import BTC_REGTEST_VPUB, LTC_ZPUB


def chain(**backend: object) -> BitcoinChainConfig:
    return BitcoinChainConfig.model_validate(
        {"type": "litecoin", "network": "mainnet", "xpub": LTC_ZPUB, "backend": backend}
    )


def test_a_litecoin_source_with_cookie_and_zmq() -> None:
    source = build_bitcoin_source(
        "ltc",
        chain(
            url="http://127.0.0.1:9332",
            cookie_file="/nonexistent/.cookie",
            zmq="tcp://127.0.0.1:28332",
        ),
    )
    assert isinstance(source, BitcoinSource)
    assert source.asset == "LTC"
    assert source.network.coin == "litecoin"
    (health,) = source.health()
    assert health.url == "http://127.0.0.1:9332"
    asyncio.run(source.aclose())


def test_credentials_never_show_in_health() -> None:
    config = BitcoinChainConfig.model_validate(
        {
            "type": "bitcoin",
            "network": "regtest",
            "xpub": BTC_REGTEST_VPUB,
            "backend": {"urls": ["http://user:secret@127.0.0.1:18443", "http://127.0.0.1:18444"]},
        }
    )
    source = build_bitcoin_source("btc", config)
    assert [h.url for h in source.health()] == ["http://127.0.0.1:18443", "http://127.0.0.1:18444"]
    asyncio.run(source.aclose())


@pytest.mark.parametrize(
    ("backend", "message"),
    [
        ({"kind": "tatum"}, "chains.ltc.backend.kind"),
        ({"user": "u", "cookie_file": "/x"}, "not both"),
        ({"password": "p"}, "chains.ltc.backend.password"),
        ({"zmq": "127.0.0.1:28332"}, "chains.ltc.backend.zmq"),
    ],
)
def test_bad_backends_are_refused_by_key(backend: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_bitcoin_source("ltc", chain(**backend))
