"""What is known of each EVM chain, by chain id, in one table: its native coin, the time
between its blocks (how fast a head must move to count as live; a chain's
``block_time`` overrides it, other chains' is measured), and the network Tatum serves it
as. A chain not in the table works as well: its config names its native coin.
"""

from __future__ import annotations

from dataclasses import dataclass

from chains.tatum.networks import TatumNetwork

DEFAULT_BLOCK_TIME = 12.0


@dataclass(frozen=True, slots=True)
class EvmNetwork:
    native: tuple[str, int] | None  # symbol, decimals; None: the config must say
    block_time: float | None = None  # seconds; None: measured from the heads seen
    tatum: TatumNetwork | None = None
    title: str | None = None  # as the checkout page names it to customers


NETWORKS: dict[int, EvmNetwork] = {
    1: EvmNetwork(("ETH", 18), 12.0, TatumNetwork("ETH", False, "ethereum-mainnet"), "Ethereum"),
    5: EvmNetwork(("ETH", 18), title="Ethereum Goerli"),
    17000: EvmNetwork(("ETH", 18), 12.0, TatumNetwork("ETH", True, "ethereum-holesky"), "Holesky"),
    11155111: EvmNetwork(
        ("ETH", 18), 12.0, TatumNetwork("ETH", True, "ethereum-sepolia"), "Sepolia"
    ),
    31337: EvmNetwork(("ETH", 18), 1.0),  # anvil, hardhat
    137: EvmNetwork(("POL", 18), 2.0, TatumNetwork("MATIC", False, "polygon-mainnet"), "Polygon"),
    80002: EvmNetwork(
        ("POL", 18), 2.0, TatumNetwork("MATIC", True, "polygon-amoy"), "Polygon Amoy"
    ),
    56: EvmNetwork(None, tatum=TatumNetwork("BSC", False, "bsc-mainnet"), title="BNB Smart Chain"),
    97: EvmNetwork(None, tatum=TatumNetwork("BSC", True, "bsc-testnet"), title="BSC Testnet"),
}
UNKNOWN = EvmNetwork(None)


def evm_network(chain_id: int) -> EvmNetwork:
    return NETWORKS.get(chain_id, UNKNOWN)
