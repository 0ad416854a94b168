"""Asset symbols have one canonical form, upper case, from config load on: a chain
written with ``eth`` / ``usdc`` is the same as one written with ``ETH`` / ``USDC``."""

from __future__ import annotations

import pytest

from daemon.config import ConfigError, EvmChainConfig, parse_config
from daemon.services.registry import ChainRegistry
from tests.support.keys import ETH_XPUB, USDC_CONTRACT

TOKEN = f'{{contract: "{USDC_CONTRACT}", decimals: 6}}'


def chain(body: str) -> str:
    return f"chains:\n  eth: {{type: evm, chain_id: 1, xpub: {ETH_XPUB}, {body}}}\n"


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as failure:
        parse_config(text, env={})
    return failure.value.problems


def test_symbols_are_upper_cased_at_load() -> None:
    config = parse_config(
        chain(f"native: {{symbol: eth, aliases: [weth, Eth2]}}, tokens: {{usdc: {TOKEN}}}"),
        env={},
    )
    eth = config.chains["eth"]
    assert isinstance(eth, EvmChainConfig)
    assert eth.native_asset.symbol == "ETH"
    assert eth.native_asset.aliases == ["WETH", "ETH2"]
    assert list(eth.tokens) == ["USDC"]
    info = ChainRegistry.from_config(config).get("eth")
    assert info is not None
    assert [a.symbol for a in info.assets] == ["ETH", "USDC"]
    for spelling in ("usdc", "USDC", "Usdc"):
        found = info.asset(spelling)
        assert found is not None
        assert found.symbol == "USDC"


def test_a_config_in_lower_case_equals_one_in_upper_case() -> None:
    lower = parse_config(chain(f"native: {{symbol: eth}}, tokens: {{usdc: {TOKEN}}}"), env={})
    upper = parse_config(chain(f"native: {{symbol: ETH}}, tokens: {{USDC: {TOKEN}}}"), env={})
    assert lower == upper


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            f"tokens: {{usdc: {TOKEN}, USDC: {TOKEN}}}",
            "chains.eth.tokens: 'usdc' and 'USDC' are the same symbol",
        ),
        (
            f"tokens: {{Usdt: {TOKEN}, usdT: {TOKEN}}}",
            "chains.eth.tokens: 'Usdt' and 'usdT' are the same symbol",
        ),
        (
            "native: {symbol: eth, aliases: [ETH]}",
            "chains.eth: native.aliases[0]: ETH is already native.symbol",
        ),
        (
            f"native: {{symbol: usdc}}, tokens: {{USDC: {TOKEN}}}",
            "chains.eth: tokens.USDC: USDC is already native.symbol",
        ),
        (
            f"native: {{symbol: POL, aliases: [matic]}}, tokens: {{Matic: {TOKEN}}}",
            "chains.eth: tokens.MATIC: MATIC is already native.aliases[0]",
        ),
    ],
)
def test_symbols_differing_only_in_case_are_refused(body: str, expected: str) -> None:
    found = problems(chain(body))
    assert any(expected in p for p in found), found
