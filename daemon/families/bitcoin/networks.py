"""What is known of each Bitcoin-family network, in one table: the node's default RPC
port (as its own software ships it) and the network Tatum serves it as.

Regtest chains exist only on the merchant's own machines: Tatum's subscriptions go to the
testnet, its data to the configured URL (no gateway).
"""

from __future__ import annotations

from dataclasses import dataclass

from chains.tatum.networks import TatumNetwork


@dataclass(frozen=True, slots=True)
class BitcoinNetworkFacts:
    rpc_port: int
    tatum: TatumNetwork


NETWORKS: dict[tuple[str, str], BitcoinNetworkFacts] = {
    ("bitcoin", "mainnet"): BitcoinNetworkFacts(
        8332, TatumNetwork("BTC", False, "bitcoin-mainnet")
    ),
    ("bitcoin", "testnet"): BitcoinNetworkFacts(
        18332, TatumNetwork("BTC", True, "bitcoin-testnet")
    ),
    ("bitcoin", "signet"): BitcoinNetworkFacts(38332, TatumNetwork("BTC", True, None)),
    ("bitcoin", "regtest"): BitcoinNetworkFacts(18443, TatumNetwork("BTC", True, None)),
    ("litecoin", "mainnet"): BitcoinNetworkFacts(
        9332, TatumNetwork("LTC", False, "litecoin-core-mainnet")
    ),
    ("litecoin", "testnet"): BitcoinNetworkFacts(
        19332, TatumNetwork("LTC", True, "litecoin-core-testnet")
    ),
    ("litecoin", "regtest"): BitcoinNetworkFacts(19443, TatumNetwork("LTC", True, None)),
}


def network_facts(coin: str, network: str) -> BitcoinNetworkFacts:
    """The facts of a network the config accepts (every coin/network pair it allows)."""
    return NETWORKS[(coin, network)]
