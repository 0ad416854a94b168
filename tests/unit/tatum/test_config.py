"""Tatum in config: the gateway each chain is watched through, and errors naming the key."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from chains.bitcoin.source import BitcoinSource
from chains.evm.source import EvmSource
from chains.tatum.networks import TatumNetwork
from daemon.config.loading import ConfigError
from daemon.config.schema import Config
from daemon.families.bitcoin.networks import network_facts
from daemon.families.evm.networks import evm_network
from daemon.watching.sources import build_source
from tests.support.keys import ETH_XPUB, LTC_ZPUB

TATUM = {"api_key": "key-123", "hmac_secret": "s3cret", "notify_url": "https://pay.example/n"}


def config(chain: dict[str, Any], tatum: dict[str, Any] | None = None) -> Config:
    return Config.model_validate({"tatum": tatum or TATUM, "chains": {"c": chain}})


def eth(**backend: Any) -> dict[str, Any]:
    return {"type": "evm", "chain_id": 1, "xpub": ETH_XPUB, "backend": {"kind": "tatum", **backend}}


def ltc(network: str, **backend: Any) -> dict[str, Any]:
    return {
        "type": "litecoin",
        "network": network,
        "xpub": LTC_ZPUB,
        "backend": {"kind": "tatum", **backend},
    }


def test_the_gateway_url_follows_chain_and_network() -> None:
    cfg = config(eth())
    source = build_source("c", cfg.chains["c"], cfg.tatum)
    assert isinstance(source, EvmSource)
    assert [h.url for h in source.health()] == ["https://ethereum-mainnet.gateway.tatum.io"]
    asyncio.run(source.aclose())


def test_a_configured_url_overrides_it_and_bitcoin_chains_use_the_bitcoin_adapter() -> None:
    cfg = config(ltc("regtest", url="http://127.0.0.1:9/gateway/ltc"))
    source = build_source("c", cfg.chains["c"], cfg.tatum)
    assert isinstance(source, BitcoinSource)
    assert [h.url for h in source.health()] == ["http://127.0.0.1:9/gateway/ltc"]
    asyncio.run(source.aclose())


def test_the_networks_tatum_serves() -> None:
    assert evm_network(1).tatum == TatumNetwork("ETH", False, "ethereum-mainnet")
    assert evm_network(137).tatum == TatumNetwork("MATIC", False, "polygon-mainnet")
    assert evm_network(31337).tatum is None
    regtest = network_facts("litecoin", "regtest").tatum
    assert regtest == TatumNetwork("LTC", True, None)
    assert regtest.gateway_url is None


@pytest.mark.parametrize(
    ("chain", "key"),
    [
        (ltc("regtest"), "chains.c.backend.url: Tatum has no gateway for litecoin regtest"),
        ({**eth(), "chain_id": 31337, "native": {"symbol": "ETH"}}, "chains.c.backend.url"),
        (eth(cookie_file="/x"), "chains.c.backend.cookie_file: not used with Tatum"),
        (eth(user="u"), "chains.c.backend.user"),
        (eth(url="ftp://x"), "chains.c.backend.urls[0]: an http(s) URL is needed"),
    ],
)
def test_backend_errors_name_the_key(chain: dict[str, Any], key: str) -> None:
    cfg = config(chain)
    with pytest.raises(ConfigError) as caught:
        build_source("c", cfg.chains["c"], cfg.tatum)
    assert key in caught.value.render()


@pytest.mark.parametrize(
    ("tatum", "message"),
    [
        ({"api_key": "k", "notify_url": "https://pay.example/n"}, "hmac_secret: needed"),
        ({"api_key": "k", "api_url": "api.tatum.io"}, r"is not an http\(s\) URL"),
        ({"api_key": " "}, "is empty"),
    ],
)
def test_tatum_section_errors(tatum: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        config(eth(), tatum)


def test_the_api_key_never_shows_in_health_or_errors() -> None:
    cfg = config(eth(url="http://127.0.0.1:9/gateway"))
    source = build_source("c", cfg.chains["c"], cfg.tatum)
    assert source is not None
    assert "key-123" not in repr(source.health())
    assert "key-123" not in repr(cfg)
    asyncio.run(source.aclose())
