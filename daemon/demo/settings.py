"""The daemon's config for the demo: SQLite, the dev chains, the demo store as the webhook
target, one confirmation and short poll intervals. Public keys only, of a published
test mnemonic: never use them for money."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from pathlib import Path

# Public keys of the well-known test mnemonic "abandon ... about" (never use it for money):
# BIP-84 regtest account 0 (vpub: Litecoin regtest accepts it, addresses rltc1…) and
# BIP-44 Ethereum account 0 (m/44'/60'/0').
DEMO_REGTEST_KEY = (
    "vpub5Y6cjg78GGuNLsaPhmYsiw4gYX3HoQiRBiSwDaBXKUafCt9bNwWQiitDk5VZ5BVxYnQdwoTyX"
    "Ss2JHRPAgjAvtbBrf8ZhDYe2jWAqvZVnsc"
)
DEMO_ETH_KEY = (
    "xpub6DCoCpSuQZB2jawqnGMEPS63ePKWkwWPH4TU45Q7LPXWuNd8TMtVxRrgjtEshuqpK3mdhaWHP"
    "FsBngh5GFZaM6si3yZdUsT8ddYM3PwnATt"
)


def new_webhook_secret() -> str:
    """A fresh ``whsec_`` secret: 32 random bytes, base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True)
class EvmChain:
    url: str
    ws_url: str
    chain_id: int
    token: str  # the demo's USDC contract


@dataclass(frozen=True)
class LitecoinChain:
    url: str
    user: str
    password: str
    start_height: int


def config_text(
    database: Path,
    *,
    port: int,
    store_url: str,
    secret: str,
    evm: EvmChain,
    litecoin: LitecoinChain | None,
) -> str:
    """The YAML ``paywatch run`` would read for the same set-up."""
    text = f"""\
# Written by `paywatch demo`: the dev chains it names are gone once the demo ends.
database_url: sqlite:///{database}
api: {{listen: "127.0.0.1:{port}"}}
metrics: {{enabled: false}}
orders: {{expires_in: 15m, late_window: 24h}}
# Prices in euros at fixed rates (dev chains have no market; a shop lists exchanges).
rates:
  sources: []
  currencies: [EUR]
  fixed: {{ETH/EUR: "3000", USDC/EUR: "0.92", LTC/EUR: "80"}}
webhooks:
  url: "{store_url}"
  secret: "{secret}"
  allow_private_targets: true     # the store is on loopback
  poll_interval: 1s
chains:
  eth:
    type: evm
    chain_id: {evm.chain_id}
    xpub: {DEMO_ETH_KEY}
    confirmations: 1
    start_height: 0
    native: {{symbol: ETH, decimals: 18}}
    tokens: {{USDC: {{contract: "{evm.token}", decimals: 6}}}}
    backend: {{kind: rpc, urls: ["{evm.url}"], ws_url: "{evm.ws_url}", poll_interval: 1s}}
"""
    if litecoin is not None:
        text += f"""\
  ltc:
    type: litecoin
    network: regtest
    xpub: {DEMO_REGTEST_KEY}
    confirmations: 1
    start_height: {litecoin.start_height}
    backend:
      kind: rpc
      url: "{litecoin.url}"
      user: "{litecoin.user}"
      password: "{litecoin.password}"
      poll_interval: 1s
"""
    return text
