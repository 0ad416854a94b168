"""Config text for tests: the abandon keys on every chain kind."""

from __future__ import annotations

from tests.support.keys import BTC_ZPUB, ETH_XPUB, LTC_ZPUB, USDC_CONTRACT


def config_yaml(database_url: str, *, listen: str = "127.0.0.1:0", extra: str = "") -> str:
    return f"""
database_url: {database_url}
api: {{listen: "{listen}"}}
orders: {{expires_in: 15m, late_window: 24h, underpaid_tolerance_percent: 0}}
chains:
  btc:
    type: bitcoin
    network: mainnet
    xpub: {BTC_ZPUB}
    confirmations: 2
  ltc:
    type: litecoin
    network: mainnet
    xpub: {LTC_ZPUB}
  eth:
    type: evm
    chain_id: 1
    xpub: {ETH_XPUB}
    confirmations: 12
    native: {{symbol: ETH, decimals: 18}}
    tokens: {{USDC: {{contract: "{USDC_CONTRACT}", decimals: 6}}}}
  polygon:
    type: evm
    chain_id: 137
    xpub: {ETH_XPUB}
    confirmations: finalized
    native: {{symbol: POL, decimals: 18, aliases: [MATIC]}}
{extra}"""
