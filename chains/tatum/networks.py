"""Which Tatum network serves a chain: the gateway's name and the subscription chain code.

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


# EVM chain id -> the network Tatum serves it as.
_EVM = {
    1: TatumNetwork("ETH", False, "ethereum-mainnet"),
    11155111: TatumNetwork("ETH", True, "ethereum-sepolia"),
    17000: TatumNetwork("ETH", True, "ethereum-holesky"),
    137: TatumNetwork("MATIC", False, "polygon-mainnet"),
    80002: TatumNetwork("MATIC", True, "polygon-amoy"),
    56: TatumNetwork("BSC", False, "bsc-mainnet"),
    97: TatumNetwork("BSC", True, "bsc-testnet"),
}

# (coin, network) -> the network Tatum serves it as. Regtest chains exist only on the
# merchant's own machines: subscriptions go to the testnet, data to the configured URL.
_BITCOIN = {
    ("bitcoin", "mainnet"): TatumNetwork("BTC", False, "bitcoin-mainnet"),
    ("bitcoin", "testnet"): TatumNetwork("BTC", True, "bitcoin-testnet"),
    ("bitcoin", "signet"): TatumNetwork("BTC", True, None),
    ("bitcoin", "regtest"): TatumNetwork("BTC", True, None),
    ("litecoin", "mainnet"): TatumNetwork("LTC", False, "litecoin-core-mainnet"),
    ("litecoin", "testnet"): TatumNetwork("LTC", True, "litecoin-core-testnet"),
    ("litecoin", "regtest"): TatumNetwork("LTC", True, None),
}


def evm_network(chain_id: int) -> TatumNetwork | None:
    return _EVM.get(chain_id)


def bitcoin_network(coin: str, network: str) -> TatumNetwork | None:
    return _BITCOIN.get((coin, network))
