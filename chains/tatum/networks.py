"""How Tatum names a network: the gateway's name and the subscription chain code. Which
network serves which chain is each family's fact (``daemon/families/*/networks.py``).

Tatum's RPC gateway lives at ``https://<chain>-<network>.gateway.tatum.io`` and speaks the
node's own JSON-RPC; its subscription API names chains by a code (``ETH``, ``MATIC``,
``BTC``, ``LTC``, ...) and marks testnets with ``?type=testnet``.
"""

from __future__ import annotations

from dataclasses import dataclass

GATEWAY_URL = "https://{name}.gateway.tatum.io"


@dataclass(frozen=True, slots=True)
class TatumNetwork:
    code: str  # the subscription API's chain code: ETH, MATIC, BSC, BTC, LTC
    testnet: bool
    gateway: str | None  # e.g. ethereum-mainnet; None where Tatum runs no gateway

    @property
    def gateway_url(self) -> str | None:
        return GATEWAY_URL.format(name=self.gateway) if self.gateway is not None else None
