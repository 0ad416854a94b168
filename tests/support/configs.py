"""Config text for tests: the abandon keys on every chain kind."""

from __future__ import annotations

from tests.support.keys import BTC_ZPUB, ETH_XPUB, LTC_ZPUB, USDC_CONTRACT


def config_yaml(
    database_url: str, *, listen: str = "127.0.0.1:0", extra: str = "", api: str = ""
) -> str:
    """``api``: more keys of ``api:`` (flow style, e.g. ``trusted_proxies: [10.0.0.0/8]``)."""
    more = f", {api}" if api else ""
    return f"""
database_url: {database_url}
api: {{listen: "{listen}"{more}}}
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


def anvil_chain_yaml(
    url: str,
    *,
    ws_url: str | None = None,
    start_height: int = 0,
    poll_interval: str = "1s",
    token: str | None = None,
) -> str:
    """``chains:`` with one EVM chain ``eth`` on a local anvil (chain id 31337, ETH), the
    abandon key and 1 confirmation; WebSocket heads when ``ws_url`` is given; ``token``:
    the contract of the test ERC-20, configured as USDC (6 decimals)."""
    ws = f', ws_url: "{ws_url}"' if ws_url else ""
    usdc = f'\n    tokens: {{USDC: {{contract: "{token}", decimals: 6}}}}' if token else ""
    return f"""chains:
  eth:
    type: evm
    chain_id: 31337
    xpub: {ETH_XPUB}
    confirmations: 1
    start_height: {start_height}
    native: {{symbol: ETH, decimals: 18}}{usdc}
    backend: {{kind: rpc, urls: ["{url}"]{ws}, poll_interval: {poll_interval}}}
"""
